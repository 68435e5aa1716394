package io.webrocket.vhost;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import java.util.List;

/**
 * {@link Registry} of one vhost over the event bus: this node's registry of the vhost answers
 * (every node runs one). Cheap to make: it holds only the vhost's address.
 */
public final class RegistryClient implements Registry {
  private final Vertx vertx;
  private final String address;
  private final String path;

  public RegistryClient(Vertx vertx, String path) {
    this.vertx = vertx;
    this.path = path;
    this.address = Addresses.vhost(path);
  }

  public String path() {
    return path;
  }

  private <T> Future<T> call(String action, Object body) {
    return this.<T>callLocal(action, body).recover(err -> {
      if (!(err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS)) {
        return Future.failedFuture(err);
      }
      // No registry here: the vhost does not exist, or this node missed the round that made
      // it (it did not answer in time). Its directory looks in the grid, then it is asked again.
      return Bus.requestLocal(vertx, Addresses.vhosts(), VhostDirectory.SYNC, new JsonObject().put("path", path))
          .transform(x -> callLocal(action, body));
    });
  }

  private <T> Future<T> callLocal(String action, Object body) {
    return vertx.eventBus().<T>request(address, body, RegistryActions.options(action).setLocalOnly(true))
        .map(m -> m.body());
  }

  private Future<Void> command(String action, JsonObject body) {
    return call(action, body).mapEmpty();
  }

  @Override
  public Future<Void> exists() {
    return command(RegistryActions.EXISTS, null);
  }

  @Override
  public Future<Info> info() {
    return this.<JsonObject>call(RegistryActions.INFO, null).map(RegistryActions::decodeInfo);
  }

  @Override
  public Future<Void> setToken(String token) {
    return command(RegistryActions.SET_TOKEN, new JsonObject().put("token", token));
  }

  @Override
  public Future<Void> channelExists(String channel) {
    return command(RegistryActions.CHANNEL_EXISTS, new JsonObject().put("channel", channel));
  }

  @Override
  public Future<Void> identify(String token) {
    return command(RegistryActions.IDENTIFY, new JsonObject().put("token", token));
  }

  @Override
  public Future<Void> checkBroadcast(String token, String channel) {
    return command(RegistryActions.CHECK_BROADCAST, new JsonObject().put("token", token).put("channel", channel));
  }

  @Override
  public Future<String> issueAccessToken(String token, String uid, String permission) {
    return this.<JsonObject>call(RegistryActions.ISSUE_ACCESS_TOKEN,
            new JsonObject().put("token", token).put("uid", uid).put("permission", permission))
        .map(j -> j.getString("accessToken"));
  }

  @Override
  public Future<Void> openChannel(String token, String channel, IfOpen ifOpen) {
    return command(RegistryActions.OPEN_CHANNEL,
        new JsonObject().put("token", token).put("channel", channel).put("ifOpen", ifOpen.name()));
  }

  @Override
  public Future<Void> closeChannel(String token, String channel) {
    return command(RegistryActions.CLOSE_CHANNEL, new JsonObject().put("token", token).put("channel", channel));
  }

  @Override
  public Future<Void> closeChannels() {
    return command(RegistryActions.CLOSE_CHANNELS, new JsonObject());
  }

  @Override
  public Future<List<ChannelInfo>> channels() {
    return this.<JsonObject>call(RegistryActions.CHANNELS, new JsonObject()).map(RegistryActions::decodeChannels);
  }

  @Override
  public Future<ChannelInfo> channel(String name) {
    return this.<JsonObject>call(RegistryActions.CHANNEL, new JsonObject().put("channel", name))
        .map(RegistryActions::decodeChannel);
  }

  @Override
  public Future<List<String>> workers() {
    return this.<JsonObject>call(RegistryActions.WORKERS, new JsonObject())
        .map(j -> RegistryActions.strings(j.getJsonArray("workers")));
  }
}
