package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.metrics.Metrics;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link StoreClient} requests from a PostgreSQL database ({@code store.type =
 * postgres}): the same actions and replies as {@link StoreVerticle} (see {@link StoreActions}),
 * the same guarantee (a reply only after the commit, changes in arrival order — see
 * {@link PgStore}). An event-loop verticle: the reactive client never blocks.
 *
 * <p>Start-up fails, naming the server but never the password, when the database cannot be
 * reached or refuses the credentials; the tables are created if they are missing.
 */
public final class PgStoreVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PgStoreVerticle.class);
  /** Bound on connecting (and on waiting for a pooled connection): a dead server fails a request, it does not hang it. */
  private static final int CONNECT_TIMEOUT_MS = 5_000;

  private final io.webrocket.config.StoreSettings.Postgres settings;
  private final String nodeName;
  private final String metricsRegistry;
  private Pool pool;
  private MessageConsumer<?> consumer;

  /** {@code settings} is the {@code store.postgres} configuration section. */
  public PgStoreVerticle(io.webrocket.config.StoreSettings.Postgres settings, String nodeName, String metricsRegistry) {
    this.settings = settings;
    this.nodeName = nodeName;
    this.metricsRegistry = metricsRegistry;
  }

  @Override
  public Future<?> start() {
    Metrics metrics = Metrics.of(metricsRegistry);
    PgConnectOptions connect = new PgConnectOptions()
        .setHost(settings.host())
        .setPort(settings.port())
        .setDatabase(settings.database())
        .setUser(settings.user());
    String password = settings.password();
    if (password != null) {
      connect.setPassword(password);
    }
    connect.addProperty("application_name", "webrocket " + nodeName);
    pool = PgBuilder.pool()
        .with(new PoolOptions()
            .setMaxSize(settings.poolSize())
            .setConnectionTimeout(CONNECT_TIMEOUT_MS)
            .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
        .with(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS))
        .connectingTo(connect)
        .using(vertx)
        .build();
    PgStore store = new PgStore(pool, nodeName);
    return PgStore.createSchema(pool)
        .recover(err -> pool.close().transform(x -> Future.failedFuture(new IllegalStateException(
            "cannot use the PostgreSQL store " + settings.describe() + ": " + err.getMessage(), err))))
        .compose(x -> {
          LOG.info("store: PostgreSQL {}", settings.describe());
          consumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.store(), msg -> StoreActions.serve(store, msg, metrics));
          return consumer.completion();
        });
  }

  @Override
  public Future<?> stop() {
    Future<Void> unregistered = consumer == null ? Future.succeededFuture() : consumer.unregister();
    return unregistered.transform(x -> pool == null ? Future.succeededFuture() : pool.close());
  }
}
