package io.webrocket.presence;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.bus.NodeId;
import io.webrocket.config.PresenceSettings;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Status;
import io.webrocket.protocol.Wwfp;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's presence: one instance per node, deployed before the endpoints (so it stops after
 * them and their sockets' leaves are made). It answers this node's sockets' joins and leaves
 * ({@link Presence}, on {@link Addresses#presence()}) by applying them to the
 * {@link PresenceGrid} itself, on whichever member owns the channel (no leader involved), and
 * announces each visible change to every node ({@link Addresses#presenceEvents()}), encoded once,
 * with its sequence number. It also receives every node's announcements and hands them to its
 * endpoints in each channel's order ({@link PresenceStreams}).
 *
 * <p>When a node leaves the cluster (killed, cut off, or stopped), every surviving node removes
 * its members from the grid; the removal is atomic per channel, so each member is removed, and
 * announced, by exactly one of them.
 */
public final class PresenceService extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PresenceService.class);
  /** How long a stop waits for changes under way (the sockets' last leaves). */
  private static final long STOP_WAIT_MS = 3_000;

  private PresenceGrid grid;
  private PresenceStreams streams;
  private String nodeId;
  private MessageConsumer<JsonObject> requests;
  private MessageConsumer<Frame> announcements;
  private MessageConsumer<JsonObject> events;
  private long tick;
  /** Changes under way: a stop waits for them. */
  private int inFlight;
  private Promise<Void> idle;

  /** Uses {@code grid} (tests) instead of the node's own. */
  private final PresenceGrid given;
  private PresenceSettings settings;
  private final String metricsRegistry;

  /** {@code settings}: the {@code presence} section at start (reloads follow); {@code metricsRegistry}: the node's meters. */
  public PresenceService(PresenceSettings settings, String metricsRegistry) {
    this(null, settings, metricsRegistry);
  }

  PresenceService(PresenceGrid grid, PresenceSettings settings, String metricsRegistry) {
    this.given = grid;
    this.settings = settings;
    this.metricsRegistry = metricsRegistry;
  }

  @Override
  public Future<?> start() {
    nodeId = NodeId.of(vertx);
    streams = new PresenceStreams(this::forward, settings, meters());
    Future<PresenceGrid> made = given != null ? Future.succeededFuture(given)
        : io.webrocket.cluster.ClusterPresenceGrid.of(vertx);
    return made.compose(g -> {
      grid = g;
      grid.onNodeLeft(this::nodeLeft);
      startTick();
      vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
        settings = io.webrocket.config.Settings.parse(m.body()).presence();
        long before = streams.gapMs();
        streams.apply(settings);
        if (streams.gapMs() != before) {
          vertx.cancelTimer(tick);
          startTick();
        }
      });
      announcements = vertx.eventBus().consumer(Addresses.presenceEvents(), this::announced);
      events = vertx.eventBus().consumer(Addresses.events(), this::onEvent);
      requests = vertx.eventBus().localConsumer(Addresses.presence(), this::serve);
      return Future.all(announcements.completion(), events.completion(), requests.completion());
    });
  }

  /** Gaps are looked at four times per {@code presence.gapMs}: one is skipped at most a quarter late. */
  private void startTick() {
    tick = vertx.setPeriodic(Math.max(1, streams.gapMs() / 4), id -> streams.tick(System.currentTimeMillis()));
  }

  /**
   * The ordering buffers' meters: {@code webrocket_presence_held} (announcements held now),
   * {@code webrocket_presence_dropped_total} and {@code webrocket_presence_gaps_skipped_total}
   * (by the bound that caused it).
   */
  private PresenceStreams.Counts meters() {
    if (metricsRegistry == null) {
      return PresenceStreams.Counts.NONE;
    }
    var registry = io.webrocket.metrics.Metrics.of(metricsRegistry).registry();
    io.micrometer.core.instrument.Gauge.builder("webrocket.presence.held", this, p -> p.streams == null ? 0 : p.streams.held())
        .description("Presence announcements held on this node: out of order, or kept for a join under way")
        .register(registry);
    return new PresenceStreams.Counts() {
      @Override
      public void dropped(String reason) {
        io.webrocket.metrics.Metrics.of(metricsRegistry).presenceDropped(reason).increment();
      }

      @Override
      public void skipped(String reason) {
        io.micrometer.core.instrument.Counter.builder("webrocket.presence.gaps.skipped")
            .description("Missing presence announcements stepped over (waited presence.gapMs, or pushed out by presence.heldPerChannel)")
            .tag("reason", reason).register(registry).increment();
      }
    };
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(tick);
    Future<Void> drained;
    if (inFlight == 0) {
      drained = Future.succeededFuture();
    } else {
      idle = Promise.promise();
      long timer = vertx.setTimer(STOP_WAIT_MS, t -> idle.tryComplete());
      drained = idle.future().onComplete(x -> vertx.cancelTimer(timer));
    }
    return drained.compose(x -> {
      grid.close();
      return Future.join(requests.unregister(), announcements.unregister(), events.unregister());
    });
  }

  private <T> Future<T> tracked(Future<T> change) {
    inFlight++;
    return change.onComplete(x -> {
      if (--inFlight == 0 && idle != null) {
        idle.tryComplete();
      }
    });
  }

  private void serve(Message<JsonObject> msg) {
    JsonObject b = msg.body();
    try {
      switch (Bus.actionOf(msg)) {
        case PresenceClient.JOIN -> join(msg, b.getString("vhost"), b.getString("channel"),
            new Member(b.getString("sid"), b.getString("uid"), b.getJsonObject("data", new JsonObject()).encode(),
                b.getBoolean("hidden", false), nodeId));
        case PresenceClient.LEAVE -> leave(msg, b.getString("vhost"), b.getJsonArray("channels"), b.getString("sid"),
            b.getJsonObject("data"));
        default -> Bus.fail(msg, Status.BAD_REQUEST);
      }
    } catch (ClassCastException | NullPointerException e) {
      Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  private void join(Message<JsonObject> msg, String vhost, String channel, Member m) {
    String key = PresenceGrid.key(vhost, channel);
    streams.joining(key);
    tracked(grid.join(vhost, channel, m)).onComplete(done -> {
      if (done.failed()) {
        streams.joinFailed(key);
        LOG.error("presence: join of {} {} failed: {}", vhost, channel, done.cause().toString());
        Bus.fail(msg, Status.INTERNAL_ERROR);
        return;
      }
      Joined j = done.result();
      boolean announced = j.announced(m);
      Frame own = announced ? Frame.text(Wwfp.encodeBuffer(":memberJoined", m.announced(channel, null))) : null;
      // At once, or once what came between an older list and this node's stream has arrived.
      streams.joined(key, j.seq(), announced, j.added(), System.currentTimeMillis(), missed -> {
        msg.reply(PresenceClient.encode(new Presence.Joined(j.listed(), j.seq(), own, new ArrayList<>(missed.values()),
            missed.isEmpty() ? j.seq() : missed.lastKey())));
        if (own != null) {
          announce(vhost, channel, j.seq(), own);
        }
        streams.drain(key, System.currentTimeMillis());
      });
    });
  }

  private void leave(Message<JsonObject> msg, String vhost, JsonArray channels, String sid, JsonObject data) {
    List<Future<?>> leaves = new ArrayList<>();
    for (int i = 0; i < channels.size(); i++) {
      String channel = channels.getString(i);
      leaves.add(tracked(grid.leave(vhost, channel, sid)).onSuccess(left -> {
        if (left != null) {
          streams.left(PresenceGrid.key(vhost, channel));
          announceLeft(vhost, channel, left, data);
        }
      }));
    }
    Future.all(leaves).onComplete(done -> {
      if (done.succeeded()) {
        msg.reply(null);
      } else {
        LOG.error("presence: leave of {} failed: {}", vhost, done.cause().toString());
        Bus.fail(msg, Status.INTERNAL_ERROR);
      }
    });
  }

  /** A node left the cluster: its members leave; this node announces the ones it removed. */
  private void nodeLeft(String node) {
    tracked(grid.dropNode(node)).onComplete(done -> {
      if (done.failed()) {
        LOG.error("presence: removing the members of node {} failed: {}", node, done.cause().toString());
        return;
      }
      done.result().forEach(d -> announceLeft(d.vhost(), d.channel(), d.left(), null));
      if (!done.result().isEmpty()) {
        LOG.info("presence: {} members of departed node {} left", done.result().size(), node);
      }
    });
  }

  private void announceLeft(String vhost, String channel, Left left, JsonObject data) {
    if (left.announced()) {
      announce(vhost, channel, left.seq(),
          Frame.text(Wwfp.encodeBuffer(":memberLeft", left.member().announced(channel, data))));
    }
  }

  /** To every node's presence service (this one too), which orders it for its endpoints. */
  private void announce(String vhost, String channel, long seq, Frame frame) {
    vertx.eventBus().publish(Addresses.presenceEvents(), frame, new DeliveryOptions()
        .addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel)
        .addHeader(Addresses.SEQ, Long.toString(seq)));
  }

  private void announced(Message<Frame> msg) {
    String vhost = msg.headers().get(Addresses.VHOST);
    String channel = msg.headers().get(Addresses.CHANNEL);
    String seq = msg.headers().get(Addresses.SEQ);
    if (vhost == null || channel == null || seq == null) {
      return;
    }
    streams.arrived(PresenceGrid.key(vhost, channel), Long.parseLong(seq), msg.body(), System.currentTimeMillis());
  }

  /** In order: to this node's endpoints, which write it to the channel's members after {@code since}. */
  private void forward(String key, long seq, Frame frame) {
    vertx.eventBus().publish(Addresses.fanout(), frame, new DeliveryOptions().setLocalOnly(true)
        .addHeader(Addresses.VHOST, PresenceGrid.vhostOf(key)).addHeader(Addresses.CHANNEL, PresenceGrid.channelOf(key))
        .addHeader(Addresses.SEQ, Long.toString(seq)));
  }

  private void onEvent(Message<JsonObject> msg) {
    JsonObject e = msg.body();
    String vhost = e.getString("vhost");
    switch (e.getString("type", "")) {
      case "channelClosed" -> {
        String channel = e.getString("channel");
        if (channel == null || io.webrocket.protocol.Names.typeOf(channel) != io.webrocket.protocol.Names.ChannelType.PRESENCE) {
          return;
        }
        streams.drop(PresenceGrid.key(vhost, channel));
        grid.dropChannel(vhost, channel);
      }
      case "vhostDeleted" -> {
        streams.dropVhost(vhost);
        grid.dropVhost(vhost);
      }
      default -> {}
    }
  }
}
