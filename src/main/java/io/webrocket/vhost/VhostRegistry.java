package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.protocol.Status;
import io.webrocket.store.Store;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one vhost's {@link Registry}: its access token and channels ({@link Channels}); it
 * issues single
 * access tokens into the {@link AccessTokenGrid}, where any node uses them. Deployed once per vhost by the directory; requests arrive through
 * {@link RegistryActions#serve} on {@link Addresses#vhost(String)}.
 *
 * <p>Changes are applied to memory at once and in arrival order (so pipelined WBP requests take
 * effect in the order sent); the reply is sent only after the change is durable.
 *
 * <p>In a cluster exactly one node runs the registries (the leader, see {@code
 * io.webrocket.cluster.Leadership}), so every node's requests meet the same state; each change
 * is also copied to the {@link Replica} before the reply, and a new leader rebuilds from it.
 * Replica key: {@code c|CHANNEL}. (Presence members are in {@code io.webrocket.presence}'s grid.)
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

  /** Channels as the previous leader left them in the replica. */
  private void restore(Map<String, Object> entries) {
    entries.forEach((key, value) -> {
      if (key.charAt(0) == 'c') {
        channels.open(key.substring(2));
      } else {
        LOG.warn("{}: unknown replica key {}", path, key);
      }
    });
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    channelsGauge.set(channels.size());
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
      vertx.eventBus().publish(
          Addresses.events(),
          new JsonObject().put("type", "channelClosed").put("vhost", path).put("channel", name));
    }
    return writes;
  }

  // ---- browsers ----

  @Override
  public Future<Void> channelExists(String channel) {
    return channel != null && channels.isOpen(channel) ? Future.succeededFuture() : refused(Status.CHANNEL_NOT_FOUND);
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
