package io.webrocket.vhost;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.bus.Status;
import io.webrocket.frontend.Frame;
import io.webrocket.frontend.Wwfp;
import io.webrocket.store.Store;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the state of one vhost: its access token, channels with their subscribers and presence
 * data, single access tokens and the worker lobby. Deployed once per vhost by the directory;
 * every question about the vhost is a request to {@link Addresses#vhost(String)}.
 *
 * <p>Changes are applied to memory at once and in arrival order (so pipelined WBP requests take
 * effect in the order sent); the reply is sent only after the change is durable.
 */
public final class VhostRegistry extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(VhostRegistry.class);

  private final String path;
  private String token;
  private final Map<String, Channel> channels = new TreeMap<>();
  private final Map<String, AccessTokenRecord> accessTokens = new HashMap<>();
  private final Map<String, JsonObject> workers = new LinkedHashMap<>();
  private long accessTokenLifetimeMs;
  private int maxChannels;
  private final String metricsRegistry;
  private java.util.concurrent.atomic.AtomicLong channelsGauge;
  private java.util.concurrent.atomic.AtomicLong workersGauge;
  private Store store;
  private MessageConsumer<Object> consumer;
  private MessageConsumer<JsonObject> configConsumer;
  private long purgeTimer;

  public VhostRegistry(VhostRecord record, long accessTokenLifetimeMs, int maxChannels, String metricsRegistry) {
    this.maxChannels = maxChannels;
    this.metricsRegistry = metricsRegistry;
    this.path = record.path();
    this.token = record.token();
    record.channels().forEach(c -> channels.put(c, new Channel(c)));
    record.accessTokens().forEach(t -> accessTokens.put(t.token(), t));
    this.accessTokenLifetimeMs = accessTokenLifetimeMs;
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    workersGauge = metrics.workers(path);
    channelsGauge.set(channels.size());
    consumer = vertx.eventBus().consumer(Addresses.vhost(path), this::handle);
    purgeTimer = vertx.setPeriodic(60_000, id -> purgeExpiredTokens());
    // Live configuration: new tokens get the new lifetime; issued ones keep theirs.
    configConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.config(),
        m -> {
          accessTokenLifetimeMs = m.body().getJsonObject("tokens").getLong("lifetimeMs");
          maxChannels = m.body().getJsonObject("limits").getInteger("channelsPerVhost");
        });
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(purgeTimer);
    channelsGauge.set(0);
    workersGauge.set(0);
    configConsumer.unregister();
    return consumer.unregister();
  }

  private void handle(Message<Object> msg) {
    String action = Bus.actionOf(msg);
    try {
      switch (action) {
        case "exists" -> msg.reply(null);
        case "info" -> msg.reply(info());
        case "setToken" -> setToken(msg);
        case "auth" -> auth(msg);
        case "subscribe" -> subscribe(msg);
        case "unsubscribe" -> unsubscribe(msg);
        case "disconnect" -> disconnect(msg);
        case "channelExists" -> channelExists(msg);
        case "backend" -> backend(msg);
        case "broadcast" -> broadcast(msg);
        case "workerLeft" -> workerLeft(msg);
        case "listChannels" -> listChannels(msg);
        case "channelInfo" -> channelInfo(msg);
        case "openChannel" -> adminOpenChannel(msg);
        case "closeChannel" -> adminCloseChannel(msg);
        case "closeChannels" -> closeChannels(msg);
        case "listWorkers" -> listWorkers(msg);
        default -> Bus.fail(msg, Status.BAD_REQUEST);
      }
    } catch (ClassCastException | NullPointerException e) {
      // A malformed request from a peer verticle: answer it rather than let it time out.
      Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  private JsonObject body(Message<Object> msg) {
    return (JsonObject) msg.body();
  }

  private void replyWhenStored(Message<Object> msg, Future<?> write, Object reply) {
    write.onComplete(
        ok -> msg.reply(reply),
        err -> {
          LOG.error("{}: durable write failed: {}", path, err.getMessage());
          Bus.fail(msg, Status.INTERNAL_ERROR);
        });
  }

  // ---- admin / directory ----

  private JsonObject info() {
    return new JsonObject().put("path", path).put("accessToken", token).put("channels", channels.size());
  }

  private void setToken(Message<Object> msg) {
    token = body(msg).getString("token");
    msg.reply(null);
  }

  private void listChannels(Message<Object> msg) {
    JsonArray list = new JsonArray();
    channels.values().forEach(c -> list.add(new JsonObject().put("name", c.name).put("subscribers", c.subscribers.size())));
    msg.reply(new JsonObject().put("channels", list));
  }

  private void channelInfo(Message<Object> msg) {
    Channel c = channels.get(body(msg).getString("channel"));
    if (c == null) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
      return;
    }
    msg.reply(new JsonObject().put("name", c.name).put("subscribers", c.subscribers.size()));
  }

  private void adminOpenChannel(Message<Object> msg) {
    String name = body(msg).getString("channel");
    if (!Names.isValidChannel(name)) {
      Bus.fail(msg, Status.INVALID_CHANNEL_NAME);
    } else if (channels.containsKey(name)) {
      Bus.fail(msg, Status.BAD_REQUEST);
    } else if (channels.size() >= maxChannels) {
      Bus.fail(msg, Status.TOO_MANY_REQUESTS);
    } else {
      replyWhenStored(msg, openChannel(name), null);
    }
  }

  private void adminCloseChannel(Message<Object> msg) {
    String name = body(msg).getString("channel");
    if (!channels.containsKey(name)) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
    } else {
      replyWhenStored(msg, closeChannel(name), null);
    }
  }

  private void closeChannels(Message<Object> msg) {
    for (String name : new ArrayList<>(channels.keySet())) {
      forgetChannel(name);
    }
    replyWhenStored(msg, store.deleteChannels(path), null);
  }

  private void listWorkers(Message<Object> msg) {
    JsonArray list = new JsonArray();
    workers.keySet().forEach(id -> list.add(new JsonObject().put("id", id)));
    msg.reply(new JsonObject().put("workers", list));
  }

  private Future<Void> openChannel(String name) {
    channels.put(name, new Channel(name));
    channelsGauge.set(channels.size());
    return store.putChannel(path, name);
  }

  private Future<Void> closeChannel(String name) {
    forgetChannel(name);
    return store.deleteChannel(path, name);
  }

  /** Closing a channel unsubscribes everyone on it; no {@code :unsubscribed} is sent. */
  private void forgetChannel(String name) {
    if (channels.remove(name) != null) {
      channelsGauge.set(channels.size());
      vertx.eventBus().publish(
          Addresses.events(),
          new JsonObject().put("type", "channelClosed").put("vhost", path).put("channel", name));
    }
  }

  // ---- browsers ----

  private void auth(Message<Object> msg) {
    String given = body(msg).getString("token");
    AccessTokenRecord t = given == null ? null : accessTokens.remove(given);
    if (t == null || t.expiresAt() <= System.currentTimeMillis()) {
      Bus.fail(msg, Status.UNAUTHORIZED);
      return;
    }
    // Single use: the token's deletion is durable before the browser is told it is in.
    replyWhenStored(
        msg,
        store.deleteAccessToken(t.token()),
        new JsonObject().put("uid", t.uid()).put("permission", t.permission()));
  }

  private void subscribe(Message<Object> msg) {
    JsonObject b = body(msg);
    Channel c = channels.get(b.getString("channel"));
    if (c == null) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
      return;
    }
    if (b.getBoolean("forbidden", false)) {
      Bus.fail(msg, Status.FORBIDDEN);
      return;
    }
    String sid = b.getString("sid");
    JsonObject reply = new JsonObject();
    if (c.type == Names.ChannelType.PRESENCE) {
      reply.put("subscribers", c.presenceList(sid));
    }
    if (c.subscribers.containsKey(sid)) {
      // Re-subscribing changes nothing and announces nothing.
      msg.reply(reply);
      return;
    }
    JsonObject data = b.getJsonObject("data", new JsonObject());
    boolean hidden = b.getBoolean("hidden", false);
    Channel.Member m = new Channel.Member(b.getString("uid"), data, hidden);
    c.subscribers.put(sid, m);
    if (c.type == Names.ChannelType.PRESENCE && !hidden) {
      Buffer joined = Wwfp.encodeBuffer(":memberJoined", presenceEvent(m, c.name, data));
      // The joiner's endpoint gets this frame in the reply and writes it after :subscribed.
      publish(c.name, Frame.text(joined), sid);
      reply.put("joined", joined);
    }
    msg.reply(reply);
  }

  private void unsubscribe(Message<Object> msg) {
    JsonObject b = body(msg);
    Channel c = channels.get(b.getString("channel"));
    if (c == null) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
      return;
    }
    if (!leave(c, b.getString("sid"), b.getJsonObject("data"))) {
      Bus.fail(msg, Status.NOT_SUBSCRIBED);
      return;
    }
    msg.reply(null);
  }

  /** A connection ended (close, drop, re-auth): it leaves each listed channel. */
  private void disconnect(Message<Object> msg) {
    JsonObject b = body(msg);
    String sid = b.getString("sid");
    JsonObject data = b.getJsonObject("data");
    for (Object name : b.getJsonArray("channels", new JsonArray())) {
      Channel c = channels.get((String) name);
      if (c != null) {
        leave(c, sid, data);
      }
    }
    msg.reply(null);
  }

  private boolean leave(Channel c, String sid, JsonObject leaveData) {
    Channel.Member m = c.subscribers.remove(sid);
    if (m == null) {
      return false;
    }
    if (c.type == Names.ChannelType.PRESENCE && !m.hidden()) {
      JsonObject data = m.data().copy();
      if (leaveData != null) {
        data.mergeIn(leaveData);
      }
      publish(c.name, Frame.text(Wwfp.encodeBuffer(":memberLeft", presenceEvent(m, c.name, data))), null);
    }
    return true;
  }

  private static JsonObject presenceEvent(Channel.Member m, String channel, JsonObject data) {
    JsonObject j = new JsonObject().put("uid", m.uid()).put("channel", channel);
    data.forEach(e -> {
      if (!"uid".equals(e.getKey()) && !"channel".equals(e.getKey())) {
        j.put(e.getKey(), e.getValue());
      }
    });
    return j;
  }

  private void channelExists(Message<Object> msg) {
    if (channels.containsKey(body(msg).getString("channel"))) {
      msg.reply(null);
    } else {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
    }
  }

  private void publish(String channel, Frame frame, String skipSid) {
    DeliveryOptions o = new DeliveryOptions().addHeader(Addresses.VHOST, path).addHeader(Addresses.CHANNEL, channel);
    if (skipSid != null) {
      o.addHeader(Addresses.SKIP, skipSid);
    }
    vertx.eventBus().publish(Addresses.fanout(), frame, o);
  }

  // ---- backends ----

  /** A WBP {@code BC}: the frame arrives encoded; checked here, published once. */
  private void broadcast(Message<Object> msg) {
    if (!Secrets.same(token, msg.headers().get("token"))) {
      Bus.fail(msg, Status.UNAUTHORIZED);
      return;
    }
    String channel = msg.headers().get(Addresses.CHANNEL);
    if (!channels.containsKey(channel)) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
      return;
    }
    publish(channel, (Frame) msg.body(), null);
    msg.reply(null);
  }

  /** Every other WBP request: identity check, then the command. */
  private void backend(Message<Object> msg) {
    JsonObject b = body(msg);
    if (!Secrets.same(token, b.getString("token"))) {
      Bus.fail(msg, Status.UNAUTHORIZED);
      return;
    }
    String command = b.getString("command");
    JsonArray args = b.getJsonArray("args", new JsonArray());
    String a0 = args.size() > 0 ? args.getString(0) : null;
    String a1 = args.size() > 1 ? args.getString(1) : null;
    switch (command) {
      case "identify" -> msg.reply(null);
      case "OC" -> {
        if (a0 == null || a0.isEmpty()) {
          Bus.fail(msg, Status.BAD_REQUEST);
        } else if (!Names.isValidChannel(a0)) {
          Bus.fail(msg, Status.INVALID_CHANNEL_NAME);
        } else if (channels.containsKey(a0)) {
          msg.reply(null);
        } else if (channels.size() >= maxChannels) {
          Bus.fail(msg, Status.TOO_MANY_REQUESTS);
        } else {
          replyWhenStored(msg, openChannel(a0), null);
        }
      }
      case "CC" -> {
        if (a0 == null || a0.isEmpty()) {
          Bus.fail(msg, Status.BAD_REQUEST);
        } else if (!channels.containsKey(a0)) {
          Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
        } else {
          replyWhenStored(msg, closeChannel(a0), null);
        }
      }
      case "AT" -> issueAccessToken(msg, a0, a1);
      case "RD" -> {
        workers.put(b.getString("worker"), new JsonObject());
        workersGauge.set(workers.size());
        msg.reply(null);
      }
      default -> Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  private void issueAccessToken(Message<Object> msg, String uid, String permission) {
    if (uid == null || uid.isEmpty() || permission == null || permission.isEmpty()) {
      Bus.fail(msg, Status.BAD_REQUEST);
      return;
    }
    try {
      Pattern.compile(permission);
    } catch (PatternSyntaxException e) {
      Bus.fail(msg, Status.BAD_REQUEST);
      return;
    }
    AccessTokenRecord t =
        new AccessTokenRecord(Secrets.accessToken(), uid, permission, System.currentTimeMillis() + accessTokenLifetimeMs);
    accessTokens.put(t.token(), t);
    replyWhenStored(msg, store.putAccessToken(path, t), new JsonObject().put("token", t.token()));
  }

  private void workerLeft(Message<Object> msg) {
    workers.remove(body(msg).getString("worker"));
    workersGauge.set(workers.size());
    msg.reply(null);
  }

  private void purgeExpiredTokens() {
    long now = System.currentTimeMillis();
    if (accessTokens.values().removeIf(t -> t.expiresAt() <= now)) {
      store.deleteExpiredAccessTokens(now);
    }
  }
}
