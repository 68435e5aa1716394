package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.metrics.Metrics;
import java.nio.file.Path;
import java.util.List;

/**
 * Owns the embedded database and serves {@link StoreClient} requests. Deployed as a worker
 * verticle with one instance: calls run one at a time, in arrival order, off the event loops.
 * The actions and replies are {@link StoreActions}'s, shared with {@link PgStoreVerticle}.
 */
public final class StoreVerticle extends VerticleBase {
  private final Path file;
  private final boolean fsyncEachWrite;
  private final String metricsRegistry;
  private SqliteStore db;
  private MessageConsumer<JsonObject> consumer;

  public StoreVerticle(Path file, boolean fsyncEachWrite, String metricsRegistry) {
    this.file = file;
    this.fsyncEachWrite = fsyncEachWrite;
    this.metricsRegistry = metricsRegistry;
  }

  @Override
  public Future<?> start() throws Exception {
    Metrics metrics = Metrics.of(metricsRegistry);
    db = new SqliteStore(file, fsyncEachWrite);
    Store store = new Blocking();
    consumer = vertx.eventBus().localConsumer(Addresses.store(), msg -> StoreActions.serve(store, msg, metrics));
    return consumer.completion();
  }

  @Override
  public Future<?> stop() throws Exception {
    if (db != null) {
      db.close();
    }
    return Future.succeededFuture();
  }

  private interface Call<T> {
    T run() throws Exception;
  }

  private interface Write {
    void run() throws Exception;
  }

  /** Runs on this worker thread; the future is complete (the commit done) when returned. */
  private static <T> Future<T> now(Call<T> c) {
    try {
      return Future.succeededFuture(c.run());
    } catch (Exception e) {
      return Future.failedFuture(e);
    }
  }

  private static Future<Void> write(Write w) {
    return now(() -> {
      w.run();
      return null;
    });
  }

  /** {@link SqliteStore} as a {@link Store}: synchronous, each future already complete. */
  private final class Blocking implements Store {
    @Override
    public Future<Void> ping() {
      return Future.succeededFuture();
    }

    @Override
    public Future<List<VhostRecord>> loadAll() {
      return now(() -> db.loadAll(System.currentTimeMillis()));
    }

    @Override
    public Future<Void> putVhost(String path, String token) {
      return write(() -> db.putVhost(path, token));
    }

    @Override
    public Future<Void> deleteVhost(String path) {
      return write(() -> db.deleteVhost(path));
    }

    @Override
    public Future<Void> putChannel(String vhost, String channel) {
      return write(() -> db.putChannel(vhost, channel));
    }

    @Override
    public Future<Void> deleteChannel(String vhost, String channel) {
      return write(() -> db.deleteChannel(vhost, channel));
    }

    @Override
    public Future<Void> deleteChannels(String vhost) {
      return write(() -> db.deleteChannels(vhost));
    }

    @Override
    public Future<Void> putAccessToken(String vhost, AccessTokenRecord token) {
      return write(() -> db.putAccessToken(vhost, token));
    }

    @Override
    public Future<Void> deleteAccessToken(String token) {
      return write(() -> db.deleteAccessToken(token));
    }

    @Override
    public Future<Void> deleteExpiredAccessTokens(long now) {
      return write(() -> db.deleteExpiredAccessTokens(now));
    }

    @Override
    public Future<String> getSetting(String key) {
      return now(() -> db.getSetting(key));
    }

    @Override
    public Future<Void> putSetting(String key, String value) {
      return write(() -> db.putSetting(key, value));
    }
  }
}
