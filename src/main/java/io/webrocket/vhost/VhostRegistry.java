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
import java.util.List;
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
 *
 * <p>In a cluster exactly one node runs the registries (the leader, see {@code
 * io.webrocket.cluster.Leadership}), so every node's requests meet the same state; each change
 * is also copied to the {@link Replica} before the reply, and a new leader rebuilds from it.
 * Replica keys: {@code c|CHANNEL}, {@code t|TOKEN}, {@code m|SID|CHANNEL} (a subscriber) and
 * {@code w|WORKER}.
 */
public final class VhostRegistry extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(VhostRegistry.class);

  private final String path;
  private String token;
  private final Map<String, Channel> channels = new TreeMap<>();
  private final Map<String, AccessTokenRecord> accessTokens = new HashMap<>();
  /** Worker id to the node its connection is on. */
  private final Map<String, String> workers = new LinkedHashMap<>();
  private final Replica replica;
  /** True when built from the store in a cluster: the replica gets a copy before anything else. */
  private final boolean seedReplica;
  /** Joining order of subscribers, kept across a takeover through the replica. */
  private long joinSeq;
  private long accessTokenLifetimeMs;
  private int maxChannels;
  private final String metricsRegistry;
  private java.util.concurrent.atomic.AtomicLong channelsGauge;
  private java.util.concurrent.atomic.AtomicLong workersGauge;
  private Store store;
  private MessageConsumer<Object> consumer;
  private MessageConsumer<JsonObject> configConsumer;
  private MessageConsumer<JsonObject> liveNodesConsumer;
  private long purgeTimer;

  /**
   * @param replicated the vhost's replica entries when a new leader takes over, or null when the
   *     registry is built from the store (a start, or a vhost just created)
   */
  public VhostRegistry(VhostRecord record, Map<String, Object> replicated, Replica replica,
      long accessTokenLifetimeMs, int maxChannels, String metricsRegistry) {
    this.replica = replica;
    this.seedReplica = replicated == null && replica.replicated();
    this.maxChannels = maxChannels;
    this.metricsRegistry = metricsRegistry;
    this.path = record.path();
    this.token = record.token();
    record.channels().forEach(c -> channels.put(c, new Channel(c)));
    record.accessTokens().forEach(t -> accessTokens.put(t.token(), t));
    this.accessTokenLifetimeMs = accessTokenLifetimeMs;
    if (replicated != null) {
      restore(replicated);
    }
  }

  /** Channels, tokens, subscribers and workers as the previous leader left them in the replica. */
  private void restore(Map<String, Object> entries) {
    List<JsonObject> members = new ArrayList<>();
    entries.forEach((key, value) -> {
      switch (key.charAt(0)) {
        case 'c' -> channels.computeIfAbsent(key.substring(2), Channel::new);
        case 't' -> {
          JsonObject t = (JsonObject) value;
          accessTokens.put(key.substring(2),
              new AccessTokenRecord(key.substring(2), t.getString("uid"), t.getString("permission"), t.getLong("expiresAt")));
        }
        case 'm' -> members.add((JsonObject) value);
        case 'w' -> workers.put(key.substring(2), ((JsonObject) value).getString("node"));
        default -> LOG.warn("{}: unknown replica key {}", path, key);
      }
    });
    members.sort(java.util.Comparator.comparingLong(m -> m.getLong("seq", 0L)));
    for (JsonObject m : members) {
      Channel c = channels.get(m.getString("channel"));
      if (c != null) {
        c.subscribers.put(m.getString("sid"), Channel.Member.fromJson(m));
        joinSeq = Math.max(joinSeq, m.getLong("seq", 0L));
      }
    }
  }

  private static String memberKey(String sid, String channel) {
    return "m|" + sid + "|" + channel;
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    workersGauge = metrics.workers(path);
    channelsGauge.set(channels.size());
    workersGauge.set(workers.size());
    // Nodes that left the cluster take their subscribers and workers with them.
    liveNodesConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.liveNodes(),
        m -> forgetNodesOtherThan(m.body().getJsonArray("nodes")));
    purgeTimer = vertx.setPeriodic(60_000, id -> purgeExpiredTokens());
    // Live configuration: new tokens get the new lifetime; issued ones keep theirs.
    configConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.config(),
        m -> {
          accessTokenLifetimeMs = m.body().getJsonObject("tokens").getLong("lifetimeMs");
          maxChannels = m.body().getJsonObject("limits").getInteger("channelsPerVhost");
        });
    return seed().compose(x -> {
      consumer = vertx.eventBus().consumer(Addresses.vhost(path), this::handle);
      return consumer.completion();
    });
  }

  /** A registry built from the store in a cluster copies its durable state to the replica first. */
  private Future<?> seed() {
    if (!seedReplica) {
      return Future.succeededFuture();
    }
    List<Future<?>> writes = new ArrayList<>();
    channels.keySet().forEach(c -> writes.add(replica.put(path, "c|" + c, "1")));
    accessTokens.values().forEach(t -> writes.add(replica.put(path, "t|" + t.token(), tokenJson(t))));
    return Future.all(writes);
  }

  private static JsonObject tokenJson(AccessTokenRecord t) {
    return new JsonObject().put("uid", t.uid()).put("permission", t.permission()).put("expiresAt", t.expiresAt());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(purgeTimer);
    liveNodesConsumer.unregister();
    channelsGauge.set(0);
    workersGauge.set(0);
    configConsumer.unregister();
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
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
    List<Future<?>> writes = new ArrayList<>();
    for (String name : new ArrayList<>(channels.keySet())) {
      writes.addAll(forgetChannel(name));
    }
    writes.add(store.deleteChannels(path));
    replyWhenStored(msg, Future.all(writes), null);
  }

  private void listWorkers(Message<Object> msg) {
    JsonArray list = new JsonArray();
    workers.keySet().forEach(id -> list.add(new JsonObject().put("id", id)));
    msg.reply(new JsonObject().put("workers", list));
  }

  private Future<?> openChannel(String name) {
    channels.put(name, new Channel(name));
    channelsGauge.set(channels.size());
    return Future.all(store.putChannel(path, name), replica.put(path, "c|" + name, "1"));
  }

  private Future<?> closeChannel(String name) {
    List<Future<?>> writes = forgetChannel(name);
    writes.add(store.deleteChannel(path, name));
    return Future.all(writes);
  }

  /**
   * Closing a channel unsubscribes everyone on it; no {@code :unsubscribed} is sent. Returns the
   * replica writes it started.
   */
  private List<Future<?>> forgetChannel(String name) {
    List<Future<?>> writes = new ArrayList<>();
    Channel c = channels.remove(name);
    if (c != null) {
      channelsGauge.set(channels.size());
      writes.add(replica.remove(path, "c|" + name));
      c.subscribers.keySet().forEach(sid -> writes.add(replica.remove(path, memberKey(sid, name))));
      vertx.eventBus().publish(
          Addresses.events(),
          new JsonObject().put("type", "channelClosed").put("vhost", path).put("channel", name));
    }
    return writes;
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
        Future.all(store.deleteAccessToken(t.token()), replica.remove(path, "t|" + t.token())),
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
    Channel.Member m = new Channel.Member(b.getString("uid"), data, hidden, b.getString("node"), ++joinSeq);
    c.subscribers.put(sid, m);
    Future<Void> replicated = replica.put(path, memberKey(sid, c.name), m.toJson(sid, c.name));
    if (c.type == Names.ChannelType.PRESENCE && !hidden) {
      Buffer joined = Wwfp.encodeBuffer(":memberJoined", presenceEvent(m, c.name, data));
      // The joiner's endpoint gets this frame in the reply and writes it after :subscribed.
      publish(c.name, Frame.text(joined), sid);
      reply.put("joined", joined);
    }
    replyWhenStored(msg, replicated, reply);
  }

  private void unsubscribe(Message<Object> msg) {
    JsonObject b = body(msg);
    Channel c = channels.get(b.getString("channel"));
    if (c == null) {
      Bus.fail(msg, Status.CHANNEL_NOT_FOUND);
      return;
    }
    Future<Void> left = leave(c, b.getString("sid"), b.getJsonObject("data"));
    if (left == null) {
      Bus.fail(msg, Status.NOT_SUBSCRIBED);
      return;
    }
    replyWhenStored(msg, left, null);
  }

  /** A connection ended (close, drop, re-auth): it leaves each listed channel. */
  private void disconnect(Message<Object> msg) {
    JsonObject b = body(msg);
    String sid = b.getString("sid");
    JsonObject data = b.getJsonObject("data");
    List<Future<?>> writes = new ArrayList<>();
    for (Object name : b.getJsonArray("channels", new JsonArray())) {
      Channel c = channels.get((String) name);
      if (c != null) {
        Future<Void> left = leave(c, sid, data);
        if (left != null) {
          writes.add(left);
        }
      }
    }
    replyWhenStored(msg, Future.all(writes), null);
  }

  /** The subscriber {@code sid} leaves {@code c}: null if it was not on it, else the replica write. */
  private Future<Void> leave(Channel c, String sid, JsonObject leaveData) {
    Channel.Member m = c.subscribers.remove(sid);
    if (m == null) {
      return null;
    }
    if (c.type == Names.ChannelType.PRESENCE && !m.hidden()) {
      JsonObject data = m.data().copy();
      if (leaveData != null) {
        data.mergeIn(leaveData);
      }
      publish(c.name, Frame.text(Wwfp.encodeBuffer(":memberLeft", presenceEvent(m, c.name, data))), null);
    }
    return replica.remove(path, memberKey(sid, c.name));
  }

  /**
   * Subscribers and workers whose node is not in {@code live} are gone with their node: members
   * are announced with {@code :memberLeft}, workers leave the lobby.
   */
  private void forgetNodesOtherThan(JsonArray live) {
    java.util.Set<Object> nodes = new java.util.HashSet<>(live.getList());
    for (Channel c : channels.values()) {
      List<String> gone = new ArrayList<>();
      c.subscribers.forEach((sid, m) -> {
        if (m.node() != null && !nodes.contains(m.node())) {
          gone.add(sid);
        }
      });
      gone.forEach(sid -> leave(c, sid, null));
    }
    List<String> goneWorkers = new ArrayList<>();
    workers.forEach((id, node) -> {
      if (node != null && !nodes.contains(node)) {
        goneWorkers.add(id);
      }
    });
    goneWorkers.forEach(id -> {
      workers.remove(id);
      replica.remove(path, "w|" + id);
    });
    workersGauge.set(workers.size());
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
        String worker = b.getString("worker");
        workers.put(worker, b.getString("node"));
        workersGauge.set(workers.size());
        replyWhenStored(msg, replica.put(path, "w|" + worker, new JsonObject().put("node", b.getString("node"))), null);
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
    replyWhenStored(msg, Future.all(store.putAccessToken(path, t), replica.put(path, "t|" + t.token(), tokenJson(t))),
        new JsonObject().put("token", t.token()));
  }

  private void workerLeft(Message<Object> msg) {
    String worker = body(msg).getString("worker");
    workers.remove(worker);
    workersGauge.set(workers.size());
    replyWhenStored(msg, replica.remove(path, "w|" + worker), null);
  }

  private void purgeExpiredTokens() {
    long now = System.currentTimeMillis();
    List<String> expired = new ArrayList<>();
    accessTokens.values().forEach(t -> {
      if (t.expiresAt() <= now) {
        expired.add(t.token());
      }
    });
    if (!expired.isEmpty()) {
      expired.forEach(t -> {
        accessTokens.remove(t);
        replica.remove(path, "t|" + t);
      });
      store.deleteExpiredAccessTokens(now);
    }
  }
}
