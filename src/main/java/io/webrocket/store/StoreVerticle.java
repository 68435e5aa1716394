package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.config.StoreSettings;
import io.vertx.core.net.NetClientOptions;
import io.vertx.jdbcclient.JDBCPool;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.metrics.Metrics;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * Serves {@link StoreClient} requests ({@link StoreActions}) from a {@link SqlStore}: the
 * embedded SQLite file ({@code store.type = sqlite}, the default) or a PostgreSQL database
 * ({@code store.type = postgres}). An event-loop verticle for both: the PostgreSQL client never
 * blocks, and the JDBC client runs SQLite's calls on worker threads.
 *
 * <p>Start-up fails, naming the database (but never a password), when it cannot be opened or
 * reached or refuses the credentials; the tables are created if they are missing.
 */
public final class StoreVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(StoreVerticle.class);
  /** Bound on connecting (and on waiting for a pooled connection): a dead server fails a request, it does not hang it. */
  private static final int CONNECT_TIMEOUT_MS = 5_000;
  /** SQLite waits this long for a lock held by another process (a backup tool, the sqlite3 shell) before failing. */
  private static final int SQLITE_BUSY_TIMEOUT_MS = 5_000;

  private final SqlDialect dialect;
  /** The database, for messages: a file, or {@code user@host:port/database} — never a password. */
  private final String description;
  /** This node's name when other nodes may share the database, else null (see {@link SqlStore}). */
  private final String sharedBy;
  private final Function<Vertx, Future<Pool>> open;
  private final String metricsRegistry;
  private Pool pool;
  private MessageConsumer<?> consumer;

  private StoreVerticle(SqlDialect dialect, String description, String sharedBy, Function<Vertx, Future<Pool>> open,
      String metricsRegistry) {
    this.dialect = dialect;
    this.description = description;
    this.sharedBy = sharedBy;
    this.open = open;
    this.metricsRegistry = metricsRegistry;
  }

  /**
   * The embedded store: one SQLite file in WAL mode on one connection (SQLite writes one at a
   * time anyway). A commit has reached the WAL when its statement completes, so a killed process
   * loses nothing acknowledged; {@code fsyncEachWrite} ({@code synchronous=FULL}) also survives a
   * power loss at the cost of an fsync per write.
   */
  public static StoreVerticle sqlite(Path file, boolean fsyncEachWrite, String metricsRegistry) {
    return new StoreVerticle(SqlDialect.SQLITE, file.toAbsolutePath().normalize().toString(), null,
        vertx -> vertx.executeBlocking(() -> {
          // 0600 before SQLite creates it: its WAL and SHM files take the database file's mode.
          DataDirectory.createPrivateFile(file);
          return null;
        }).map(x -> {
          SQLiteConfig config = new SQLiteConfig(); // applied to each connection as it opens
          config.setJournalMode(SQLiteConfig.JournalMode.WAL);
          config.setSynchronous(fsyncEachWrite ? SQLiteConfig.SynchronousMode.FULL : SQLiteConfig.SynchronousMode.NORMAL);
          config.enforceForeignKeys(true);
          config.setBusyTimeout(SQLITE_BUSY_TIMEOUT_MS);
          SQLiteDataSource source = new SQLiteDataSource(config);
          source.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
          return JDBCPool.pool(vertx, source, new PoolOptions().setMaxSize(1));
        }),
        metricsRegistry);
  }

  /** {@code settings}: the {@code store.postgres} section; several nodes may share the database. */
  public static StoreVerticle postgres(StoreSettings.Postgres settings, String nodeName, String metricsRegistry) {
    return new StoreVerticle(SqlDialect.POSTGRES, settings.describe(), nodeName, vertx -> {
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
      return Future.succeededFuture(PgBuilder.pool()
          .with(new PoolOptions()
              .setMaxSize(settings.poolSize())
              .setConnectionTimeout(CONNECT_TIMEOUT_MS)
              .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
          .with(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MS))
          .connectingTo(connect)
          .using(vertx)
          .build());
    }, metricsRegistry);
  }

  @Override
  public Future<?> start() {
    Metrics metrics = Metrics.of(metricsRegistry);
    return open.apply(vertx)
        .compose(p -> {
          pool = p;
          return SqlStore.createSchema(pool, dialect);
        })
        .recover(err -> {
          // Closed without waiting: Vert.x 5.0.7's pool can fail to complete its close when a
          // connection request timed out meanwhile ("Promise already completed"), and start-up
          // must fail with the reason, not hang.
          if (pool != null) {
            pool.close();
          }
          return Future.failedFuture(new IllegalStateException(
              "cannot use the " + dialect.name() + " store " + description + ": " + err.getMessage(), err));
        })
        .compose(x -> {
          LOG.info("store: {} {}", dialect.name(), description);
          SqlStore store = new SqlStore(pool, dialect, sharedBy);
          consumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.store(),
              msg -> StoreActions.serve(store, msg, metrics));
          return consumer.completion();
        });
  }

  @Override
  public Future<?> stop() {
    Future<Void> unregistered = consumer == null ? Future.succeededFuture() : consumer.unregister();
    return unregistered.transform(x -> pool == null ? Future.succeededFuture() : pool.close());
  }
}
