package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.protocol.Status;
import io.webrocket.metrics.Metrics;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's wire format on {@link Addresses#store()}: the action names, the JSON bodies and
 * replies, in one place for both sides. {@link StoreClient} encodes calls; a store verticle
 * (embedded or PostgreSQL) hands each request to {@link #serve} with its own {@link Store}.
 */
final class StoreActions {
  private static final Logger LOG = LoggerFactory.getLogger(StoreActions.class);

  private StoreActions() {}

  /** Thrown for an action no store knows. */
  private static final class UnknownAction extends RuntimeException {
    UnknownAction() {
      super("unknown store action", null, false, false);
    }
  }

  /**
   * Runs one request against {@code store} and replies when the returned future completes — for
   * a change, once it is durable. Failures are logged without the payload (it may hold tokens).
   */
  static void serve(Store store, Message<JsonObject> msg, Metrics metrics) {
    String action = msg.headers().get(Addresses.ACTION);
    long start = System.nanoTime();
    Future<JsonObject> reply;
    try {
      reply = dispatch(store, action == null ? "" : action, msg.body());
    } catch (RuntimeException e) {
      reply = Future.failedFuture(e);
    }
    reply.onComplete(ar -> {
      metrics.storeOperation(action == null ? "unknown" : action)
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      if (ar.succeeded()) {
        msg.reply(ar.result());
      } else if (ar.cause() instanceof UnknownAction) {
        msg.fail(Status.BAD_REQUEST.code, "unknown store action");
      } else {
        LOG.error("store operation {} failed: {}", action, ar.cause().toString());
        msg.fail(Status.INTERNAL_ERROR.code, "store failure");
      }
    });
  }

  /** The action → {@link Store} method mapping; the reply body, or null for a bare acknowledgement. */
  static Future<JsonObject> dispatch(Store s, String action, JsonObject b) {
    return switch (action) {
      case "ping" -> s.ping().mapEmpty();
      case "loadAll" -> s.loadAll().map(StoreActions::encode);
      case "putVhost" -> s.putVhost(b.getString("path"), b.getString("token")).mapEmpty();
      case "deleteVhost" -> s.deleteVhost(b.getString("path")).mapEmpty();
      case "putChannel" -> s.putChannel(b.getString("vhost"), b.getString("channel")).mapEmpty();
      case "deleteChannel" -> s.deleteChannel(b.getString("vhost"), b.getString("channel")).mapEmpty();
      case "deleteChannels" -> s.deleteChannels(b.getString("vhost")).mapEmpty();
      case "putAccessToken" -> s.putAccessToken(b.getString("vhost"), decodeToken(b)).mapEmpty();
      case "deleteAccessToken" -> s.deleteAccessToken(b.getString("token")).mapEmpty();
      case "deleteExpiredAccessTokens" -> s.deleteExpiredAccessTokens(b.getLong("now")).mapEmpty();
      case "historyRules" -> s.historyRules().map(m -> {
        JsonObject out = new JsonObject();
        m.forEach(out::put);
        return out;
      });
      case "putHistoryRules" -> s.putHistoryRules(b.getString("vhost"), b.getString("rules")).mapEmpty();
      case "getSetting" -> s.getSetting(b.getString("key")).map(v -> new JsonObject().put("value", v));
      case "putSetting" -> s.putSetting(b.getString("key"), b.getString("value")).mapEmpty();
      default -> Future.failedFuture(new UnknownAction());
    };
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

  static JsonObject encode(List<VhostRecord> all) {
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

  static List<VhostRecord> decode(JsonObject j) {
    List<VhostRecord> all = new ArrayList<>();
    for (Object o : j.getJsonArray("vhosts")) {
      JsonObject v = (JsonObject) o;
      List<String> channels = new ArrayList<>();
      v.getJsonArray("channels").forEach(c -> channels.add((String) c));
      List<AccessTokenRecord> tokens = new ArrayList<>();
      v.getJsonArray("accessTokens").forEach(t -> tokens.add(decodeToken((JsonObject) t)));
      all.add(new VhostRecord(v.getString("path"), v.getString("token"), channels, tokens));
    }
    return all;
  }
}
