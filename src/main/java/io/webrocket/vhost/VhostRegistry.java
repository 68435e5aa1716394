package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.protocol.Status;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;
import io.webrocket.store.Store;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one vhost's {@link Registry}: its access token, channels with their subscribers and
 * presence data ({@link Channels}); it issues single
 * access tokens into the {@link AccessTokenGrid}, where any node uses them. Deployed once per vhost by the directory; requests arrive through
 * {@link RegistryActions#serve} on {@link Addresses#vhost(String)}.
 *
 * <p>Changes are applied to memory at once and in arrival order (so pipelined WBP requests take
 * effect in the order sent); the reply is sent only after the change is durable.
 *
 * <p>In a cluster exactly one node runs the registries (the leader, see {@code
 * io.webrocket.cluster.Leadership}), so every node's requests meet the same state; each change
 * is also copied to the {@link Replica} before the reply, and a new leader rebuilds from it.
 * Replica keys: {@code c|CHANNEL} and {@code m|SID|CHANNEL} (a presence member).
 */
public final class VhostRegistry extends VerticleBase implements Registry {
  private static final Logger LOG = LoggerFactory.getLogger(VhostRegistry.class);

  private final String path;
  private String token;
  private final Channels channels = new Channels();
  /** Single access tokens loaded from the store, for the grid (see {@link #seed}); then dropped. */
  private List<AccessTokenRecord> storedTokens;
  private AccessTokenGrid grid;
  /**
   * Channels whose opening is not durable yet: a second open of one of them answers when the
   * first is (or fails with it), never before.
   */
  private final Map<String, Future<Void>> opening = new HashMap<>();
  private final Replica replica;
  /** True when built from the store in a cluster: the replica gets a copy before anything else. */
  private final boolean seedReplica;
  private long accessTokenLifetimeMs;
  private int maxChannels;
  private final String metricsRegistry;
  private AtomicLong channelsGauge;
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
    record.channels().forEach(channels::open);
    // Built from the store (a start, a vhost just created): its tokens go to the grid. A new
    // leader taking over finds them there already.
    this.storedTokens = replicated == null ? record.accessTokens() : List.of();
    this.accessTokenLifetimeMs = accessTokenLifetimeMs;
    if (replicated != null) {
      restore(replicated);
    }
  }

  /** Channels and presence members as the previous leader left them in the replica. */
  private void restore(Map<String, Object> entries) {
    List<JsonObject> members = new ArrayList<>();
    entries.forEach((key, value) -> {
      switch (key.charAt(0)) {
        case 'c' -> channels.open(key.substring(2));
        case 'm' -> members.add((JsonObject) value);
        default -> LOG.warn("{}: unknown replica key {}", path, key);
      }
    });
    members.sort(java.util.Comparator.comparingLong(m -> m.getLong("seq", 0L)));
    members.forEach(m -> channels.restore(m.getString("channel"), m.getString("sid"), Channel.Member.fromJson(m)));
  }

  private static String memberKey(String sid, String channel) {
    return "m|" + sid + "|" + channel;
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    channelsGauge.set(channels.size());
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
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx).compose(g -> {
      grid = g;
      return seed();
    }).compose(x -> {
      consumer = vertx.eventBus().consumer(Addresses.vhost(path), msg -> RegistryActions.serve(this, msg));
      return consumer.completion();
    });
  }

  /**
   * A registry built from the store puts the store's unexpired single access tokens in the
   * grid, and in a cluster copies its channels to the replica first.
   */
  private Future<?> seed() {
    List<Future<?>> writes = new ArrayList<>();
    storedTokens.forEach(t -> writes.add(grid.put(path, t)));
    storedTokens = List.of();
    if (seedReplica) {
      channels.names().forEach(c -> writes.add(replica.put(path, "c|" + c, "1")));
    }
    return Future.all(writes);
  }

  @Override
  public Future<?> stop() {
    // Deleted (or handed to another leader): no node may go on trusting what it learnt of it.
    Future<Void> forgotten = NodeViews.forgetVhost(vertx, path);
    vertx.cancelTimer(purgeTimer);
    liveNodesConsumer.unregister();
    channelsGauge.set(0);
    configConsumer.unregister();
    return Future.join(forgotten, consumer == null ? Future.succeededFuture() : consumer.unregister());
  }

  /** Completes when {@code write} does; a failed durable write is logged and answered 597. */
  private <T> Future<T> whenStored(Future<?> write, T reply) {
    return write.transform(ar -> {
      if (ar.succeeded()) {
        return Future.succeededFuture(reply);
      }
      LOG.error("{}: durable write failed: {}", path, ar.cause().getMessage());
      return Future.failedFuture(Status.INTERNAL_ERROR.failure());
    });
  }

  private static <T> Future<T> refused(Status status) {
    return Future.failedFuture(status.failure());
  }

  /** {@code given} is the vhost's token, or null (the operator) where {@code operatorAllowed}. */
  private boolean authorized(String given, boolean operatorAllowed) {
    return (operatorAllowed && given == null) || Secrets.same(token, given);
  }

  // ---- admin / directory ----

  @Override
  public Future<Void> exists() {
    return Future.succeededFuture();
  }

  @Override
  public Future<Info> info() {
    return Future.succeededFuture(new Info(path, token, channels.size()));
  }

  @Override
  public Future<Void> setToken(String token) {
    this.token = token;
    // Answered once no node accepts the old token from its view any more.
    return NodeViews.forgetToken(vertx, path);
  }

  @Override
  public Future<List<ChannelInfo>> channels() {
    // Subscribers live on the nodes that hold their sockets: counted there when asked.
    return NodeViews.counts(vertx, path).map(counts -> {
      List<ChannelInfo> list = new ArrayList<>();
      channels.names().forEach(c -> list.add(new ChannelInfo(c, counts.getOrDefault(c, 0))));
      return list;
    });
  }

  @Override
  public Future<ChannelInfo> channel(String name) {
    if (name == null || !channels.isOpen(name)) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    return NodeViews.counts(vertx, path).map(counts -> new ChannelInfo(name, counts.getOrDefault(name, 0)));
  }

  @Override
  public Future<List<String>> workers() {
    return NodeViews.workers(vertx, path);
  }

  @Override
  public Future<Void> openChannel(String given, String name, IfOpen ifOpen) {
    if (!authorized(given, true)) {
      return refused(Status.UNAUTHORIZED);
    }
    if (name == null || name.isEmpty()) {
      return refused(given == null ? Status.INVALID_CHANNEL_NAME : Status.BAD_REQUEST);
    }
    if (!Names.isValidChannel(name)) {
      return refused(Status.INVALID_CHANNEL_NAME);
    }
    if (channels.isOpen(name)) {
      if (ifOpen == IfOpen.FAIL) {
        return refused(Status.BAD_REQUEST);
      }
      // Open, but perhaps not durable yet: the second OK must not overtake the first.
      Future<Void> pending = opening.get(name);
      return pending != null ? pending : Future.succeededFuture();
    }
    if (channels.size() >= maxChannels) {
      return refused(Status.TOO_MANY_REQUESTS);
    }
    channels.open(name);
    channelsGauge.set(channels.size());
    Future<Void> durable = whenStored(Future.all(store.putChannel(path, name), replica.put(path, "c|" + name, "1")), null);
    opening.put(name, durable);
    durable.onComplete(x -> opening.remove(name, durable));
    return durable;
  }

  @Override
  public Future<Void> closeChannel(String given, String name) {
    if (!authorized(given, true)) {
      return refused(Status.UNAUTHORIZED);
    }
    if (name == null || name.isEmpty()) {
      return refused(given == null ? Status.CHANNEL_NOT_FOUND : Status.BAD_REQUEST);
    }
    if (!channels.isOpen(name)) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    List<Future<?>> writes = forgetChannel(name);
    writes.add(store.deleteChannel(path, name));
    // Gone everywhere before the answer: no node's view still lets anyone subscribe to it.
    return whenStored(Future.all(writes), null).compose(x -> NodeViews.forgetChannel(vertx, path, name));
  }

  @Override
  public Future<Void> closeChannels() {
    List<Future<?>> writes = new ArrayList<>();
    for (String name : channels.names()) {
      writes.addAll(forgetChannel(name));
    }
    writes.add(store.deleteChannels(path));
    return whenStored(Future.all(writes), null).compose(x -> NodeViews.forgetVhost(vertx, path));
  }

  /**
   * Closing a channel unsubscribes everyone on it; no {@code :unsubscribed} is sent. Returns the
   * replica writes it started.
   */
  private List<Future<?>> forgetChannel(String name) {
    List<Future<?>> writes = new ArrayList<>();
    Channel c = channels.close(name);
    if (c != null) {
      channelsGauge.set(channels.size());
      writes.add(replica.remove(path, "c|" + name));
      c.subscribers.keySet().forEach(sid -> writes.add(replica.remove(path, memberKey(sid, name))));
      vertx.eventBus().publish(
          Addresses.events(),
          new JsonObject().put("type", "channelClosed").put("vhost", path).put("channel", name));
      // A channel opened again later starts a new history (a new epoch).
      writes.add(io.webrocket.history.Histories.dropChannel(vertx, path, name));
    }
    return writes;
  }

  // ---- browsers ----

  @Override
  public Future<Joined> subscribe(Join j) {
    Channel c = j.channel() == null ? null : channels.get(j.channel());
    if (c == null) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    boolean presence = c.type == Names.ChannelType.PRESENCE;
    JsonArray members = presence ? c.presenceList(j.sid()) : null;
    JsonObject data = j.data() == null ? new JsonObject() : j.data();
    Channel.Member m = channels.join(c, j.sid(), j.uid(), data, j.hidden(), j.node());
    if (m == null) {
      // Re-subscribing changes nothing and announces nothing.
      return Future.succeededFuture(new Joined(members, null));
    }
    Future<Void> replicated = replica.put(path, memberKey(j.sid(), c.name), m.toJson(j.sid(), c.name));
    Buffer joined = null;
    if (presence && !j.hidden()) {
      joined = Wwfp.encodeBuffer(":memberJoined", m.announced(c.name, data));
      // The joiner's endpoint gets this frame in the reply and writes it after :subscribed.
      publish(c.name, Frame.text(joined), j.sid());
    }
    return whenStored(replicated, new Joined(members, joined));
  }

  @Override
  public Future<Void> unsubscribe(String sid, String channel, JsonObject data) {
    Channel c = channel == null ? null : channels.get(channel);
    if (c == null) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    Future<Void> left = leave(c, sid, data);
    return left == null ? refused(Status.NOT_SUBSCRIBED) : whenStored(left, null);
  }

  @Override
  public Future<Void> leaveAll(String sid, List<String> names, JsonObject data) {
    List<Future<?>> writes = new ArrayList<>();
    for (String name : names) {
      Channel c = name == null ? null : channels.get(name);
      if (c != null) {
        Future<Void> left = leave(c, sid, data);
        if (left != null) {
          writes.add(left);
        }
      }
    }
    return whenStored(Future.all(writes), null);
  }

  /** The subscriber {@code sid} leaves {@code c}: null if it was not on it, else the replica write. */
  private Future<Void> leave(Channel c, String sid, JsonObject leaveData) {
    Channel.Member m = channels.leave(c, sid);
    if (m == null) {
      return null;
    }
    announceLeft(c, m, leaveData);
    return replica.remove(path, memberKey(sid, c.name));
  }

  private void announceLeft(Channel c, Channel.Member m, JsonObject leaveData) {
    if (c.type == Names.ChannelType.PRESENCE && !m.hidden()) {
      JsonObject data = m.data().copy();
      if (leaveData != null) {
        data.mergeIn(leaveData);
      }
      publish(c.name, Frame.text(Wwfp.encodeBuffer(":memberLeft", m.announced(c.name, data))), null);
    }
  }

  /**
   * Presence members whose node is not in {@code live} are gone with their node: each is
   * announced with {@code :memberLeft}.
   */
  private void forgetNodesOtherThan(JsonArray live) {
    java.util.Set<Object> nodes = new HashSet<>(live.getList());
    for (Channels.Left l : channels.leaveNodesOtherThan(nodes)) {
      announceLeft(channels.get(l.channel()), l.member(), null);
      replica.remove(path, memberKey(l.sid(), l.channel()));
    }
  }

  @Override
  public Future<Void> channelExists(String channel) {
    return channel != null && channels.isOpen(channel) ? Future.succeededFuture() : refused(Status.CHANNEL_NOT_FOUND);
  }

  private void publish(String channel, Frame frame, String skipSid) {
    io.webrocket.bus.Fanout.publish(vertx, path, channel, frame, skipSid);
  }

  // ---- backends ----

  @Override
  public Future<Void> identify(String given) {
    return authorized(given, false) ? Future.succeededFuture() : refused(Status.UNAUTHORIZED);
  }

  @Override
  public Future<Void> checkBroadcast(String given, String channel) {
    if (!authorized(given, false)) {
      return refused(Status.UNAUTHORIZED);
    }
    return channel != null && channels.isOpen(channel) ? Future.succeededFuture() : refused(Status.CHANNEL_NOT_FOUND);
  }

  @Override
  public Future<String> issueAccessToken(String given, String uid, String permission) {
    if (!authorized(given, false)) {
      return refused(Status.UNAUTHORIZED);
    }
    if (uid == null || uid.isEmpty() || permission == null || permission.isEmpty()) {
      return refused(Status.BAD_REQUEST);
    }
    try {
      Pattern.compile(permission);
    } catch (PatternSyntaxException e) {
      return refused(Status.BAD_REQUEST);
    }
    AccessTokenRecord t = new AccessTokenRecord(Secrets.accessToken(), uid, permission,
        System.currentTimeMillis() + accessTokenLifetimeMs);
    // Durable, and in the grid (by hash, two members) before the backend gets it.
    return whenStored(Future.all(store.putAccessToken(path, t), grid.put(path, t)), t.token());
  }

  /** The grid forgets expired tokens by itself in a cluster (time-to-live); the store is told here. */
  private void purgeExpiredTokens() {
    long now = System.currentTimeMillis();
    if (grid instanceof LocalAccessTokenGrid local) {
      local.purgeExpired(now);
    }
    store.deleteExpiredAccessTokens(now);
  }
}
