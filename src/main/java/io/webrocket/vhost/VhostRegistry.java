package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.config.RegistrySettings;
import io.webrocket.protocol.Status;
import io.webrocket.store.Store;
import io.webrocket.store.Store.AccessTokenRecord;
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
 * Serves one vhost's {@link Registry} on this node. Every node runs one per vhost (deployed by
 * its {@link VhostDirectory}) and answers its own node's requests (a local consumer on {@link
 * Addresses#vhost(String)}): channels and the vhost's token are read and changed in the {@link
 * VhostGrid} the nodes share, single access tokens in the {@link AccessTokenGrid}, each also
 * written to the durable store before the reply. No request waits on another node, except that
 * a change that removes something (a channel closed) is confirmed only once every node's view
 * and registry has dropped it ({@link NodeViews}).
 *
 * <p>Presence members are not the registry's: see {@code io.webrocket.presence}. The registry
 * of the node doing the one-member jobs (see {@code io.webrocket.cluster.Leadership}) exports
 * the vhost's {@code webrocket_channels} gauge, so that the cluster counts each channel once.
 *
 * <p>Requests of one caller take effect in the order sent: on this node, an operation on a
 * channel starts only after the previous operation on the same channel has been decided in the
 * grid ({@link #inOrder}).
 */
public final class VhostRegistry extends VerticleBase implements Registry {
  private static final Logger LOG = LoggerFactory.getLogger(VhostRegistry.class);
  /** Node-local shared map key: true while this node does the one-member jobs (and exports the gauge). */
  static final String GAUGE_HOST = "webrocket.gaugeHost";

  private final String path;
  private volatile String token;
  private final VhostGrid vhostGrid;
  private AccessTokenGrid grid;
  /** Per channel: the last operation of this node on it, until decided in the grid. */
  private final Map<String, Future<?>> pending = new HashMap<>();
  /** Token lifetime and channel limit, applied live (see {@link #apply}). */
  private RegistrySettings settings;
  private final String metricsRegistry;
  /** Nodes keep store files of their own (SQLite in a cluster): they copy this one's channel changes. */
  private final boolean mirror;
  private AtomicLong channelsGauge;
  private Store store;
  private MessageConsumer<Object> consumer;
  private MessageConsumer<JsonObject> configConsumer;
  private MessageConsumer<JsonObject> hostConsumer;
  private long purgeTimer;
  /** -1 while this node does not export the gauge; timer ids start at 0. */
  private long gaugeTimer = -1;

  public VhostRegistry(String path, String token, VhostGrid vhostGrid, boolean mirror,
      RegistrySettings settings, String metricsRegistry) {
    this.mirror = mirror;
    this.path = path;
    this.token = token;
    this.vhostGrid = vhostGrid;
    this.metricsRegistry = metricsRegistry;
    apply(settings);
  }

  /** At start and on every reload: new single access tokens get the lifetime; issued ones keep theirs. */
  private void apply(RegistrySettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    store = new io.webrocket.store.StoreClient(vertx);
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(metricsRegistry);
    channelsGauge = metrics.channels(path);
    purgeTimer = vertx.setPeriodic(60_000, id -> purgeExpiredTokens());
    // Live configuration: new tokens get the new lifetime; issued ones keep theirs.
    configConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.config(),
        m -> apply(RegistrySettings.of(m.body())));
    // Registered first, read second: a reload applied before this registry was deployed (its
    // deployer's copy of the settings may predate it) is not missed.
    io.webrocket.config.LiveConfiguration.latest(vertx).ifPresent(json -> apply(RegistrySettings.of(json)));
    hostConsumer = vertx.eventBus().<JsonObject>localConsumer(Addresses.gaugeHost(path), m -> {
      exportGauge(m.body().getBoolean("host"));
      m.reply(null);
    });
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx).compose(g -> {
      grid = g;
      consumer = vertx.eventBus().localConsumer(Addresses.vhost(path), msg -> RegistryActions.serve(this, msg));
      return consumer.completion();
    }).compose(x -> {
      // Registered first, read second: a change of host while this started is not missed.
      exportGauge(Boolean.TRUE.equals(vertx.sharedData().getLocalMap(GAUGE_HOST).get(GAUGE_HOST)));
      return Future.succeededFuture();
    });
  }

  /** Starts or stops exporting {@code webrocket_channels} for the vhost (one node of the cluster does). */
  private void exportGauge(boolean host) {
    if (!host) {
      if (gaugeTimer >= 0) {
        vertx.cancelTimer(gaugeTimer);
        gaugeTimer = -1;
      }
      channelsGauge.set(0);
    } else if (gaugeTimer < 0) {
      gaugeTimer = vertx.setPeriodic(5_000, id -> refreshGauge());
      refreshGauge();
    }
  }

  /** The host counts at once what changed through this node (others' changes: within 5 s). */
  private void countChannels() {
    if (gaugeTimer >= 0) {
      refreshGauge();
    }
  }

  private void refreshGauge() {
    vhostGrid.channelCount(path).onSuccess(n -> channelsGauge.set(n));
  }

  @Override
  public Future<?> stop() {
    // Deleted: this node may not go on trusting what it learnt of it.
    new NodeView(vertx).forgetVhost(path);
    vertx.cancelTimer(purgeTimer);
    exportGauge(false);
    hostConsumer.unregister();
    configConsumer.unregister();
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
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
      // Gone everywhere before the answer: no node's view still knows it.
      // A channel opened again later starts a new history (a new epoch).
      return whenStored(Future.all(store.deleteChannel(path, name), io.webrocket.history.Histories.dropChannel(vertx, path, name)), null)
          .compose(x -> NodeViews.forgetChannel(vertx, path, name));
    }));
  }

  @Override
  public Future<Void> closeChannels() {
    return vhostGrid.closeChannels(path).compose(names -> {
      names.forEach(this::announceClosed);
      mirror("deleteChannels", null);
      List<Future<?>> writes = new ArrayList<>();
      writes.add(store.deleteChannels(path));
      names.forEach(n -> writes.add(io.webrocket.history.Histories.dropChannel(vertx, path, n)));
      return whenStored(Future.all(writes), null);
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
  public Future<Void> channelExists(String channel) {
    if (channel == null) {
      return refused(Status.CHANNEL_NOT_FOUND);
    }
    return inOrder(channel, () -> vhostGrid.channelOpen(path, channel))
        .compose(open -> open ? Future.succeededFuture() : refused(Status.CHANNEL_NOT_FOUND));
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
