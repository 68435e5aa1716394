package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.config.RegistrySettings;
import io.webrocket.protocol.Status;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;
import io.webrocket.store.Store;
import io.webrocket.store.Store.AccessTokenRecord;
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
 * Serves one vhost's {@link Registry} on this node. Every node runs one per vhost (deployed by
 * its {@link VhostDirectory}) and answers its own node's requests (a local consumer on {@link
 * Addresses#vhost(String)}): channels and the vhost's token are read and changed in the {@link
 * VhostGrid} the nodes share, single access tokens in the {@link AccessTokenGrid}, each also
 * written to the durable store before the reply. No request waits on another node, except that
 * a change that removes something (a channel closed) is confirmed only once every node's view
 * and registry has dropped it ({@link NodeViews}).
 *
 * <p>Presence members ({@link Channels}) are still kept in one place: the registry of the node
 * doing the one-member jobs (the leader, see {@code io.webrocket.cluster.Leadership}) also
 * consumes {@link Addresses#presence(String)}, copies each member to the {@link Replica} before
 * it replies, and a new leader's registry rebuilds them from it. Replica key: {@code
 * m|SID|CHANNEL}.
 *
 * <p>Requests of one caller take effect in the order sent: on this node, an operation on a
 * channel starts only after the previous operation on the same channel has been decided in the
 * grid ({@link #inOrder}); presence operations keep their arrival order ({@link #presenceChannel}).
 */
public final class VhostRegistry extends VerticleBase implements Registry {
  private static final Logger LOG = LoggerFactory.getLogger(VhostRegistry.class);
  /** Node-local shared map key: true while this node's registries host the presence members. */
  static final String PRESENCE_HOST = "webrocket.presenceHost";

  private final String path;
  private volatile String token;
  private final VhostGrid vhostGrid;
  /** Presence members, on the presence host only. */
  private Channels channels = new Channels();
  private AccessTokenGrid grid;
  /** Per channel: the last operation of this node on it, until decided in the grid. */
  private final Map<String, Future<?>> pending = new HashMap<>();
  /** Presence channel look-ups in the grid, in arrival order. */
  private Future<?> presenceTail = Future.succeededFuture();
  private final Replica replica;
  /** Token lifetime and channel limit, applied live (see {@link #apply}). */
  private RegistrySettings settings;
  private final String metricsRegistry;
  /** Nodes keep store files of their own (SQLite in a cluster): they copy this one's channel changes. */
  private final boolean mirror;
  private AtomicLong channelsGauge;
  private Store store;
  private MessageConsumer<Object> consumer;
  private MessageConsumer<Object> presenceConsumer;
  private MessageConsumer<JsonObject> configConsumer;
  private MessageConsumer<JsonObject> liveNodesConsumer;
  private MessageConsumer<JsonObject> hostConsumer;
  private long purgeTimer;
  private long gaugeTimer;

  public VhostRegistry(String path, String token, VhostGrid vhostGrid, Replica replica, boolean mirror,
      RegistrySettings settings, String metricsRegistry) {
    this.mirror = mirror;
    this.path = path;
    this.token = token;
    this.vhostGrid = vhostGrid;
    this.replica = replica;
    this.metricsRegistry = metricsRegistry;
    apply(settings);
  }

  /** At start and on every reload: new single access tokens get the lifetime; issued ones keep theirs. */
  private void apply(RegistrySettings settings) {
    this.settings = settings;
  }

  private static String memberKey(String sid, String channel) {
    return "m|" + sid + "|" + channel;
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    // Nodes that left the cluster take their presence members with them (published on the leader).
    liveNodesConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.liveNodes(),
        m -> forgetNodesOtherThan(m.body().getJsonArray("nodes")));
    purgeTimer = vertx.setPeriodic(60_000, id -> purgeExpiredTokens());
    // Live configuration: new tokens get the new lifetime; issued ones keep theirs.
    configConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.config(),
        m -> apply(RegistrySettings.of(m.body())));
    hostConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.presenceHost(path),
        m -> hostPresence(m.body().getBoolean("host")).onComplete(x -> m.reply(null)));
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx).compose(g -> {
      grid = g;
      consumer = vertx.eventBus().localConsumer(Addresses.vhost(path), msg -> RegistryActions.serve(this, msg));
      return consumer.completion();
    }).compose(x -> {
      // Registered first, read second: a change of host while this started is not missed.
      boolean host = Boolean.TRUE.equals(vertx.sharedData().getLocalMap(PRESENCE_HOST).get(PRESENCE_HOST));
      return host ? hostPresence(true) : Future.succeededFuture();
    });
  }

  /**
   * Starts or stops serving the vhost's presence members. A new host starts from the replica
   * (members of channels still open, in their joining order) and counts the vhost's channels
   * for {@code webrocket_channels}, which only the host exports.
   */
  private Future<Void> hostPresence(boolean host) {
    if (!host) {
      vertx.cancelTimer(gaugeTimer);
      channelsGauge.set(0);
      channels = new Channels();
      MessageConsumer<Object> c = presenceConsumer;
      presenceConsumer = null;
      return c == null ? Future.succeededFuture() : c.unregister();
    }
    if (presenceConsumer != null) {
      return Future.succeededFuture();
    }
    gaugeTimer = vertx.setPeriodic(5_000, id -> refreshGauge());
    refreshGauge();
    return replica.load(path).compose(this::restore).compose(x -> {
      presenceConsumer = vertx.eventBus().consumer(Addresses.presence(path), msg -> RegistryActions.serve(this, msg));
      return presenceConsumer.completion();
    });
  }

  /** The host counts at once what changed through this node (others' changes: within 5 s). */
  private void countChannels() {
    if (presenceConsumer != null) {
      refreshGauge();
    }
  }

  private void refreshGauge() {
    vhostGrid.channelCount(path).onSuccess(n -> channelsGauge.set(n));
  }

  /** Presence members as the previous host left them in the replica, of the channels still open. */
  private Future<Void> restore(Map<String, Object> entries) {
    channels = new Channels();
    List<JsonObject> members = new ArrayList<>();
    entries.forEach((key, value) -> {
      if (key.startsWith("m|")) {
        members.add((JsonObject) value);
      }
    });
    members.sort(java.util.Comparator.comparingLong(m -> m.getLong("seq", 0L)));
    List<String> names = members.stream().map(m -> m.getString("channel")).distinct().toList();
    return Future.all(names.stream().map(n -> vhostGrid.channelOpen(path, n)).toList()).map(open -> {
      for (int i = 0; i < names.size(); i++) {
        if (open.<Boolean>resultAt(i)) {
          channels.open(names.get(i));
        }
      }
      for (JsonObject m : members) {
        if (channels.isOpen(m.getString("channel"))) {
          channels.restore(m.getString("channel"), m.getString("sid"), Channel.Member.fromJson(m));
        } else {
          replica.remove(path, memberKey(m.getString("sid"), m.getString("channel")));
        }
      }
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    // Deleted: this node may not go on trusting what it learnt of it.
    new NodeView(vertx).forgetVhost(path);
    vertx.cancelTimer(purgeTimer);
    vertx.cancelTimer(gaugeTimer);
    liveNodesConsumer.unregister();
    hostConsumer.unregister();
    channelsGauge.set(0);
    configConsumer.unregister();
    return Future.join(presenceConsumer == null ? Future.succeededFuture() : presenceConsumer.unregister(),
        consumer == null ? Future.succeededFuture() : consumer.unregister());
  }

  /**
   * Runs {@code op} on {@code channel} after this node's previous operation on it has been
   * decided: a pipelined open then broadcast check (or close then subscribe) of one caller is
   * answered in that order although each asks the grid.
   */
  private <T> Future<T> inOrder(String channel, java.util.function.Supplier<Future<T>> op) {
    Future<?> before = pending.get(channel);
    Future<T> f = before == null ? op.get() : before.transform(x -> op.get());
    pending.put(channel, f);
    f.onComplete(x -> pending.remove(channel, f));
    return f;
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
    return vhostGrid.channelCount(path).map(n -> new Info(path, token, n));
  }

  @Override
  public Future<Void> setToken(String token) {
    this.token = token;
    return Future.succeededFuture();
  }

  @Override
  public Future<List<ChannelInfo>> channels() {
    // Subscribers live on the nodes that hold their sockets: counted there when asked.
    return Future.all(vhostGrid.channels(path), NodeViews.counts(vertx, path)).map(both -> {
      List<String> names = both.resultAt(0);
      Map<String, Integer> counts = both.resultAt(1);
      List<ChannelInfo> list = new ArrayList<>();
      names.forEach(c -> list.add(new ChannelInfo(c, counts.getOrDefault(c, 0))));
      return list;
    });
  }

  @Override
  public Future<ChannelInfo> channel(String name) {
    if (name == null) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    return inOrder(name, () -> vhostGrid.channelOpen(path, name)).compose(open -> !open
        ? refused(Status.CHANNEL_NOT_FOUND)
        : NodeViews.counts(vertx, path).map(counts -> new ChannelInfo(name, counts.getOrDefault(name, 0))));
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
    return inOrder(name, () -> vhostGrid.channelOpen(path, name).compose(open -> {
      if (open) {
        return ifOpen == IfOpen.FAIL ? refused(Status.BAD_REQUEST) : Future.succeededFuture();
      }
      // The limit is counted, then the open is atomic: two nodes racing at the limit may both
      // open (one channel over it), never lose an open.
      return vhostGrid.channelCount(path).compose(n -> {
        if (n >= settings.channelsPerVhost()) {
          return refused(Status.TOO_MANY_REQUESTS);
        }
        return vhostGrid.openChannel(path, name).compose(opened -> {
          if (!opened) {
            // Another node opened it meanwhile.
            return ifOpen == IfOpen.FAIL ? refused(Status.BAD_REQUEST) : Future.succeededFuture();
          }
          // In the grid: every node finds it now. Durable before the answer.
          mirror("putChannel", name);
          countChannels();
          return whenStored(store.putChannel(path, name), null);
        });
      });
    }));
  }

  @Override
  public Future<Void> closeChannel(String given, String name) {
    if (!authorized(given, true)) {
      return refused(Status.UNAUTHORIZED);
    }
    if (name == null || name.isEmpty()) {
      return refused(given == null ? Status.CHANNEL_NOT_FOUND : Status.BAD_REQUEST);
    }
    return inOrder(name, () -> vhostGrid.closeChannel(path, name).compose(closed -> {
      if (!closed) {
        return refused(Status.CHANNEL_NOT_FOUND);
      }
      announceClosed(name);
      mirror("deleteChannel", name);
      countChannels();
      // Gone everywhere before the answer: no node's view or registry still knows it.
      return whenStored(store.deleteChannel(path, name), null).compose(x -> NodeViews.forgetChannel(vertx, path, name));
    }));
  }

  @Override
  public Future<Void> closeChannels() {
    return vhostGrid.closeChannels(path).compose(names -> {
      names.forEach(this::announceClosed);
      mirror("deleteChannels", null);
      return whenStored(store.deleteChannels(path), null);
    }).compose(x -> NodeViews.forgetVhost(vertx, path));
  }

  /** The other nodes' store files get the change too (shortly after: not waited for). */
  private void mirror(String op, String channel) {
    if (mirror) {
      vertx.eventBus().publish(Addresses.storeMirror(), new JsonObject().put("op", op).put("vhost", path)
          .put("channel", channel).put("origin", io.webrocket.bus.NodeId.of(vertx)));
    }
  }

  /** Every endpoint drops the channel's subscribers; no {@code :unsubscribed} is sent. */
  private void announceClosed(String name) {
    vertx.eventBus().publish(
        Addresses.events(),
        new JsonObject().put("type", "channelClosed").put("vhost", path).put("channel", name));
  }

  @Override
  public Future<Void> dropChannel(String name) {
    for (String n : name == null ? channels.names() : List.of(name)) {
      Channel c = channels.close(n);
      if (c != null) {
        c.subscribers.keySet().forEach(sid -> replica.remove(path, memberKey(sid, n)));
      }
    }
    countChannels();
    return Future.succeededFuture();
  }

  // ---- browsers: presence (on the presence host) ----

  /**
   * The presence channel {@code name} as this host knows it, looked up in the grid the first
   * time; null if it is not open. Look-ups keep their arrival order, and so do the operations
   * that wait for one.
   */
  private Future<Channel> presenceChannel(String name) {
    Channel known = name == null ? null : channels.get(name);
    if (name == null || (known != null && presenceTail.isComplete())) {
      return Future.succeededFuture(known);
    }
    Future<Channel> f = presenceTail.transform(x -> {
      Channel again = channels.get(name);
      if (again != null) {
        return Future.succeededFuture(again);
      }
      return vhostGrid.channelOpen(path, name).map(open -> {
        if (!open) {
          return null;
        }
        channels.open(name);
        return channels.get(name);
      });
    });
    presenceTail = f;
    return f;
  }

  @Override
  public Future<Joined> subscribe(Join j) {
    return presenceChannel(j.channel()).compose(c -> c == null ? refused(Status.CHANNEL_NOT_FOUND) : join(c, j));
  }

  private Future<Joined> join(Channel c, Join j) {
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
    return presenceChannel(channel).compose(c -> {
      if (c == null) {
        return refused(Status.CHANNEL_NOT_FOUND);
      }
      Future<Void> left = leave(c, sid, data);
      return left == null ? refused(Status.NOT_SUBSCRIBED) : whenStored(left, null);
    });
  }

  @Override
  public Future<Void> leaveAll(String sid, List<String> names, JsonObject data) {
    // Only channels this host knows can have the subscriber: no look-up needed, but in order.
    return presenceTail.transform(x -> {
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
    });
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
    if (channel == null) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    return inOrder(channel, () -> vhostGrid.channelOpen(path, channel))
        .compose(open -> open ? Future.succeededFuture() : refused(Status.CHANNEL_NOT_FOUND));
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
    return channelExists(channel);
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
        System.currentTimeMillis() + settings.accessTokenLifetimeMs());
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
