package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Status;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the embedded database and serves {@link StoreClient} requests. Deployed as a worker
 * verticle with one instance: calls run one at a time, in arrival order, off the event loops.
 */
public final class StoreVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(StoreVerticle.class);

  private final Path file;
  private final boolean fsyncEachWrite;
  private final String metricsRegistry;
  private io.webrocket.metrics.Metrics metrics;
  private SqliteStore db;
  private MessageConsumer<JsonObject> consumer;

  public StoreVerticle(Path file, boolean fsyncEachWrite, String metricsRegistry) {
    this.file = file;
    this.fsyncEachWrite = fsyncEachWrite;
    this.metricsRegistry = metricsRegistry;
  }

  @Override
  public Future<?> start() throws Exception {
    metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    db = new SqliteStore(file, fsyncEachWrite);
    consumer = vertx.eventBus().localConsumer(Addresses.store(), this::handle);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() throws Exception {
    if (db != null) {
      db.close();
    }
    return Future.succeededFuture();
  }

  private void handle(Message<JsonObject> msg) {
    String action = msg.headers().get(Addresses.ACTION);
    long start = System.nanoTime();
    try {
      run(action, msg);
    } finally {
      metrics.storeOperation(action == null ? "unknown" : action)
          .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  private void run(String action, Message<JsonObject> msg) {
    JsonObject b = msg.body();
    try {
      switch (action == null ? "" : action) {
        case "ping" -> msg.reply(null);
        case "loadAll" -> msg.reply(encode(db.loadAll(System.currentTimeMillis())));
        case "putVhost" -> ok(msg, () -> db.putVhost(b.getString("path"), b.getString("token")));
        case "deleteVhost" -> ok(msg, () -> db.deleteVhost(b.getString("path")));
        case "putChannel" -> ok(msg, () -> db.putChannel(b.getString("vhost"), b.getString("channel")));
        case "deleteChannel" -> ok(msg, () -> db.deleteChannel(b.getString("vhost"), b.getString("channel")));
        case "deleteChannels" -> ok(msg, () -> db.deleteChannels(b.getString("vhost")));
        case "putAccessToken" -> ok(msg, () -> db.putAccessToken(b.getString("vhost"), decodeToken(b)));
        case "deleteAccessToken" -> ok(msg, () -> db.deleteAccessToken(b.getString("token")));
        case "deleteExpiredAccessTokens" -> ok(msg, () -> db.deleteExpiredAccessTokens(b.getLong("now")));
        case "getSetting" -> msg.reply(new JsonObject().put("value", db.getSetting(b.getString("key"))));
        case "putSetting" -> ok(msg, () -> db.putSetting(b.getString("key"), b.getString("value")));
        default -> msg.fail(Status.BAD_REQUEST.code, "unknown store action");
      }
    } catch (Exception e) {
      // Logged without the payload: it may hold tokens.
      LOG.error("store operation {} failed: {}", msg.headers().get(Addresses.ACTION), e.toString());
      msg.fail(Status.INTERNAL_ERROR.code, "store failure");
    }
  }

  private interface Write {
    void run() throws Exception;
  }

  private static void ok(Message<JsonObject> msg, Write w) throws Exception {
    w.run();
    msg.reply(null);
  }

  static JsonObject encodeToken(AccessTokenRecord t) {
    return new JsonObject()
        .put("token", t.token())
        .put("uid", t.uid())
        .put("permission", t.permission())
        .put("expiresAt", t.expiresAt());
  }

  static AccessTokenRecord decodeToken(JsonObject j) {
    return new AccessTokenRecord(j.getString("token"), j.getString("uid"), j.getString("permission"), j.getLong("expiresAt"));
  }

  private static JsonObject encode(java.util.List<VhostRecord> all) {
    JsonArray vhosts = new JsonArray();
    for (VhostRecord v : all) {
      JsonArray tokens = new JsonArray();
      v.accessTokens().forEach(t -> tokens.add(encodeToken(t)));
      vhosts.add(
          new JsonObject()
              .put("path", v.path())
              .put("token", v.token())
              .put("channels", new JsonArray(v.channels()))
              .put("accessTokens", tokens));
    }
    return new JsonObject().put("vhosts", vhosts);
  }

  static java.util.List<VhostRecord> decode(JsonObject j) {
    java.util.List<VhostRecord> all = new java.util.ArrayList<>();
    for (Object o : j.getJsonArray("vhosts")) {
      JsonObject v = (JsonObject) o;
      java.util.List<String> channels = new java.util.ArrayList<>();
      v.getJsonArray("channels").forEach(c -> channels.add((String) c));
      java.util.List<AccessTokenRecord> tokens = new java.util.ArrayList<>();
      v.getJsonArray("accessTokens").forEach(t -> tokens.add(decodeToken((JsonObject) t)));
      all.add(new VhostRecord(v.getString("path"), v.getString("token"), channels, tokens));
    }
    return all;
  }
}
