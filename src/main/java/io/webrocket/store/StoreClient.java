package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import java.util.List;

/** {@link Store} over the event bus, served by this node's store verticle. */
public final class StoreClient implements Store {
  private final Vertx vertx;

  public StoreClient(Vertx vertx) {
    this.vertx = vertx;
  }

  private <T> Future<T> call(String action, JsonObject body) {
    return vertx
        .eventBus()
        .<T>request(Addresses.store(), body, new DeliveryOptions().addHeader(Addresses.ACTION, action).setSendTimeout(30_000))
        .map(m -> m.body());
  }

  private Future<Void> write(String action, JsonObject body) {
    return call(action, body).mapEmpty();
  }

  @Override
  public Future<Void> ping() {
    return write("ping", null);
  }

  @Override
  public Future<List<VhostRecord>> loadAll() {
    return this.<JsonObject>call("loadAll", new JsonObject()).map(StoreActions::decode);
  }

  @Override
  public Future<Void> putVhost(String path, String token) {
    return write("putVhost", new JsonObject().put("path", path).put("token", token));
  }

  @Override
  public Future<Void> deleteVhost(String path) {
    return write("deleteVhost", new JsonObject().put("path", path));
  }

  @Override
  public Future<Void> putChannel(String vhost, String channel) {
    return write("putChannel", new JsonObject().put("vhost", vhost).put("channel", channel));
  }

  @Override
  public Future<Void> deleteChannel(String vhost, String channel) {
    return write("deleteChannel", new JsonObject().put("vhost", vhost).put("channel", channel));
  }

  @Override
  public Future<Void> deleteChannels(String vhost) {
    return write("deleteChannels", new JsonObject().put("vhost", vhost));
  }

  @Override
  public Future<Void> putAccessToken(String vhost, AccessTokenRecord token) {
    return write("putAccessToken", StoreActions.encodeToken(token).put("vhost", vhost));
  }

  @Override
  public Future<Void> deleteAccessToken(String token) {
    return write("deleteAccessToken", new JsonObject().put("token", token));
  }

  @Override
  public Future<Void> deleteExpiredAccessTokens(long now) {
    return write("deleteExpiredAccessTokens", new JsonObject().put("now", now));
  }

  @Override
  public Future<java.util.Map<String, String>> historyRules() {
    return this.<JsonObject>call("historyRules", new JsonObject()).map(j -> {
      java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
      j.forEach(e -> out.put(e.getKey(), (String) e.getValue()));
      return out;
    });
  }

  @Override
  public Future<Void> putHistoryRules(String vhost, String rules) {
    return write("putHistoryRules", new JsonObject().put("vhost", vhost).put("rules", rules));
  }

  @Override
  public Future<String> getSetting(String key) {
    return this.<JsonObject>call("getSetting", new JsonObject().put("key", key)).map(j -> j.getString("value"));
  }

  @Override
  public Future<Void> putSetting(String key, String value) {
    return write("putSetting", new JsonObject().put("key", key).put("value", value));
  }
}
