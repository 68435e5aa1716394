package io.webrocket.frontend;

import io.webrocket.bus.NodeId;

import io.webrocket.protocol.Frame;

import io.netty.buffer.ByteBuf;
import io.netty.channel.WriteBufferWaterMark;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.config.Tls;
import io.webrocket.protocol.Names;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser endpoint: WWFP over WebSocket on {@code /VHOST}. Deployed once per event loop,
 * all instances sharing the port; each owns the connections it accepted and delivers fan-out
 * frames to its local subscribers.
 *
 * <p>Config: the {@code websocket} section, plus {@code tls}.
 */
public final class WebSocketEndpoint extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(WebSocketEndpoint.class);

  private LocalSubscribers subscribers;
  /** Channels with history: offset order, joining at an offset, gap notices (see HistoryStreams). */
  private HistoryStreams historyStreams;
  private io.webrocket.history.HistoryAppender historyAppender;
  /** This node's view of its vhosts' channels and tokens, shared by the node's endpoints. */
  private io.webrocket.vhost.NodeView view;
  private io.webrocket.vhost.AccessTokenGrid accessTokens;
  private io.webrocket.store.Store store;
  private io.webrocket.metrics.Metrics metrics;
  /** Hot-path counters per vhost: Micrometer lookups allocate. */
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> delivered = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> dropped = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> broadcasts = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> pongsDropped = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> readsPaused = new java.util.HashMap<>();
  private Outbound outbound;
  private WebSocketServer server;
  /** The TLS context new connections get; replaced when the certificate is renewed. Null: plain. */
  private SslContext ssl;
  /** This instance's context, with the internal API the Netty side needs (emit, its event loop). */
  private ContextInternal loopContext;
  /** Shared by every socket: the write-queue bound (see writeSegment). */
  private WriteBufferWaterMark outboundBound;
  /** Each socket is pinged once per interval, in one of this many ticks (see schedulePings). */
  private static final int PING_SLICES = 10;
  private long pingTick;
  /** -1 until the first schedule: timer ids start at 0, so 0 may be another component's timer. */
  private long pingTimer = -1;
  private long triggerTimeoutMs;
  private int outboundQueueBytes;
  private long slowConsumerTimeoutNs;
  private long handshakeTimeoutMs;
  private long messageTimeoutMs;
  private int maxFrameSize;
  private JsonObject limits;
  private JsonObject declaredVhosts;
  private io.vertx.core.json.JsonArray allowedOrigins;
  private int handshakesInFlight;
  /** Open connections per vhost and in total ("") across this node's endpoint instances. */
  private io.vertx.core.shareddata.LocalMap<String, Integer> connectionCounts;
  /** The server's own frame limit, fixed at start: a live change can only lower the effective one. */
  private int startMaxFrameSize;

  private String nodeId;

  @Override
  public Future<?> start() {
    nodeId = NodeId.of(vertx);
    JsonObject c = config();
    metrics = io.webrocket.metrics.Metrics.of(c.getString("metrics"));
    view = new io.webrocket.vhost.NodeView(vertx);
    subscribers = new LocalSubscribers(metrics, view);
    loopContext = (ContextInternal) context;
    outbound = new Outbound(loopContext);
    // The pass batch's segments are written by writeSegment; a change to a channel's
    // subscribers writes out what is pending first (see FanoutBatch).
    outbound.segmentWriter((vhost, channel, frames, messages, firstOffset) ->
        writeSegment(vhost, channel, null, frames, messages, firstOffset));
    io.webrocket.history.Histories histories = io.webrocket.history.Histories.of(vertx, c.getString("metrics"), c);
    historyStreams = new HistoryStreams(this, histories);
    historyAppender = new io.webrocket.history.HistoryAppender(vertx, histories);
    subscribers.beforeChange(outbound::seal);
    triggerTimeoutMs = c.getLong("triggerTimeoutMs");
    outboundQueueBytes = c.getInteger("outboundQueueBytes");
    slowConsumerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("slowConsumerTimeoutMs"));
    handshakeTimeoutMs = c.getLong("handshakeTimeoutMs");
    messageTimeoutMs = c.getLong("messageTimeoutMs");
    int maxFrame = c.getInteger("maxFrameSize");
    outboundBound = new WriteBufferWaterMark(outboundQueueBytes / 2, outboundQueueBytes);

    // Clustered: a broadcast published on any node reaches every node's endpoints (Vert.x sends
    // it once per node; the instances of a node share that one copy).
    vertx.eventBus().<Frame>consumer(Addresses.fanout(), this::deliver);
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(), m -> sslContext(m.body())
        .onSuccess(renewed -> ssl = renewed)
        .onFailure(err -> LOG.error("TLS reload failed, keeping the previous certificate: {}", err.getMessage())));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      limits = m.body().getJsonObject("limits");
      declaredVhosts = m.body().getJsonObject("vhosts");
      historyStreams.histories().reconfigure(m.body());
      reconfigure(m.body().getJsonObject("websocket"));
    });
    limits = c.getJsonObject("limits");
    declaredVhosts = c.getJsonObject("vhosts");
    allowedOrigins = c.getJsonArray("allowedOrigins");
    connectionCounts = vertx.sharedData().getLocalMap("webrocket.connections");
    maxFrameSize = maxFrame;
    startMaxFrameSize = maxFrame;
    schedulePings(c.getLong("pingIntervalMs"));

    JsonObject tls = c.getJsonObject("tls");
    store = new io.webrocket.store.StoreClient(vertx);
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx)
        .compose(grid -> {
          accessTokens = grid;
          return Tls.enabled(tls) ? sslContext(tls) : Future.<SslContext>succeededFuture(null);
        })
        .compose(initial -> {
          ssl = initial;
          return WebSocketServer.bind(loopContext, c.getString("host"), c.getInteger("port"), instances() > 1,
              () -> ssl, () -> new Handshake(this));
        })
        .onSuccess(bound -> server = bound);
  }

  /**
   * Checks that no other process holds the configured port (instances share it with
   * SO_REUSEPORT) and resolves port 0 to a free one, so that all instances listen on the same.
   */
  public static int claimPort(String host, int port) throws java.io.IOException {
    return WebSocketServer.claim(host, port);
  }

  /** Reads the PEM certificate and key (files: off the event loop) into a server TLS context. */
  private Future<SslContext> sslContext(JsonObject tls) {
    return vertx.executeBlocking(() -> Tls.nettyServerContext(tls, new PemKeyCertOptions()
        .setCertPath(tls.getString("cert")).setKeyPath(tls.getString("key")).getKeyManagerFactory(vertx)));
  }

  private int instances() {
    int configured = config().getInteger("instances", 0);
    return Math.max(1, configured > 0 ? configured : Runtime.getRuntime().availableProcessors());
  }

  /** Stops accepting and closes every socket with 1001 (going away) so clients reconnect elsewhere. */
  @Override
  public Future<?> stop() {
    vertx.cancelTimer(pingTimer);
    subscribers.all().forEach(c -> c.shutdownNow((short) 1001, "server shutting down"));
    return server == null ? Future.succeededFuture() : server.close();
  }

  io.webrocket.metrics.Metrics metrics() {
    return metrics;
  }

  /** A request refused by a bound; {@code limit} is one of the fixed names of {@link io.webrocket.metrics.Metrics#websocketRefused}. */
  void refused(String limit) {
    metrics.websocketRefused(limit).increment();
  }

  /** A socket closed for a bound; {@code reason} is one of the fixed names of {@link io.webrocket.metrics.Metrics#websocketPolicyCloses}. */
  void policyClose(String reason) {
    metrics.websocketPolicyCloses(reason).increment();
  }

  io.micrometer.core.instrument.Counter broadcasts(String vhost) {
    return broadcasts.computeIfAbsent(vhost, v -> metrics.broadcasts(v, "browser"));
  }

  /** This node's cluster id: the registries note it with subscribers and workers to forget them with the node. */
  String nodeId() {
    return nodeId;
  }

  io.vertx.core.Vertx vertx() {
    return vertx;
  }

  /**
   * Succeeds if {@code channel} of {@code vhost} is open: from this node's view when it knows
   * the channel, else from the vhost's registry (the answer is then learnt). Fails with
   * {@code CHANNEL_NOT_FOUND}, or what the registry answered.
   */
  Future<Void> channelOpen(String vhost, String channel) {
    if (view.channelOpen(vhost, channel)) {
      return Future.succeededFuture();
    }
    long generation = view.generation(vhost);
    return registry(vhost).channelExists(channel).onSuccess(ok -> view.learnChannel(vhost, channel, generation));
  }

  io.webrocket.vhost.NodeView view() {
    return view;
  }

  /**
   * Uses a single access token of {@code vhost} from the cluster's grid (no registry involved):
   * its grant, or {@code UNAUTHORIZED}. Single use, durably: the store forgets the token before
   * the browser is told it is in.
   */
  Future<io.webrocket.vhost.Registry.Grant> authenticate(String vhost, String token) {
    return accessTokens.take(vhost, token).compose(grant -> grant == null
        ? Future.failedFuture(io.webrocket.protocol.Status.UNAUTHORIZED.failure())
        : store.deleteAccessToken(token).transform(written -> written.succeeded()
            ? Future.succeededFuture(grant)
            : Future.failedFuture(io.webrocket.protocol.Status.INTERNAL_ERROR.failure())));
  }

  /** The registry of {@code vhost}, as a typed client (cheap: it holds only the address). */
  io.webrocket.vhost.Registry registry(String vhost) {
    return new io.webrocket.vhost.RegistryClient(vertx, vhost);
  }

  /**
   * Pings run in {@link #PING_SLICES} slices spread over the interval, each tick taking the
   * sockets of one slice: pinging every socket in one pass (one write and flush each) would stall
   * the event loop for a whole pass once per interval — about 0.1 s at 10,000 sockets here —
   * and put that stall into the latency of every broadcast waiting behind it.
   */
  private void schedulePings(long intervalMs) {
    if (pingTimer >= 0) {
      vertx.cancelTimer(pingTimer);
    }
    long tickMs = Math.max(1, intervalMs / PING_SLICES);
    long intervalNs = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    pingTimer = vertx.setPeriodic(tickMs, id -> checkLiveness(intervalNs, (int) (pingTick++ % PING_SLICES)));
  }

  /** Live limits: applied to existing sockets too, none of which is dropped. */
  private void reconfigure(JsonObject c) {
    allowedOrigins = c.getJsonArray("allowedOrigins");
    triggerTimeoutMs = c.getLong("triggerTimeoutMs");
    slowConsumerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("slowConsumerTimeoutMs"));
    handshakeTimeoutMs = c.getLong("handshakeTimeoutMs");
    messageTimeoutMs = c.getLong("messageTimeoutMs");
    if (c.getInteger("maxFrameSize") > startMaxFrameSize) {
      LOG.warn("websocket.maxFrameSize above its start value {} takes effect after a restart", startMaxFrameSize);
    }
    maxFrameSize = Math.min(c.getInteger("maxFrameSize"), startMaxFrameSize);
    int queue = c.getInteger("outboundQueueBytes");
    if (queue != outboundQueueBytes) {
      outboundQueueBytes = queue;
      outboundBound = new WriteBufferWaterMark(queue / 2, queue);
      subscribers.all().forEach(this::boundOutbound);
    }
    schedulePings(c.getLong("pingIntervalMs"));
  }

  long handshakeTimeoutMs() {
    return handshakeTimeoutMs;
  }

  /** How long a fragmented message may take from its first fragment to its last. */
  long messageTimeoutMs() {
    return messageTimeoutMs;
  }

  /** A pong to one of {@code vhost}'s sockets did not fit its outbound bound. */
  void pongDropped(String vhost) {
    pongsDropped.computeIfAbsent(vhost, metrics::pongsDropped).increment();
  }

  /** A reply left one of {@code vhost}'s sockets over its outbound bound: its reads pause. */
  void readsPaused(String vhost) {
    readsPaused.computeIfAbsent(vhost, metrics::readsPaused).increment();
  }

  int maxFrameSize() {
    return maxFrameSize;
  }

  private void boundOutbound(BrowserConnection conn) {
    conn.channel().channel().config().setWriteBufferWaterMark(outboundBound);
  }

  Outbound outbound() {
    return outbound;
  }

  LocalSubscribers subscribers() {
    return subscribers;
  }

  long triggerTimeoutMs() {
    return triggerTimeoutMs;
  }

  /**
   * Known vhosts upgrade; anything else is refused before a WebSocket exists: 404 unknown vhost,
   * 403 origin not allowed, 503 over a connection or handshake limit. Called by {@link Handshake}
   * on this instance's event loop; owns {@code req}.
   */
  void upgrade(Handshake hs, ChannelHandlerContext ctx, FullHttpRequest req) {
    String path = new io.netty.handler.codec.http.QueryStringDecoder(req.uri()).rawPath();
    if (!Names.isValidVhost(path)) {
      hs.refuse(ctx, req, 404);
      return;
    }
    if (!originAllowed(path, req.headers().get(HttpHeaderNames.ORIGIN))) {
      hs.refuse(ctx, req, 403);
      return;
    }
    if (handshakesInFlight >= Math.max(1, limits.getInteger("handshakesInFlight") / instances())) {
      hs.refuse(ctx, req, 503);
      return;
    }
    handshakesInFlight++;
    loopContext.emit(null, v -> vhostExists(path).onComplete(
        ok -> {
          handshakesInFlight--;
          if (!ctx.channel().isActive()) {
            req.release();
            return;
          }
          if (!admit(path)) {
            hs.refuse(ctx, req, 503);
            return;
          }
          BrowserSocket socket = new BrowserSocket(loopContext);
          BrowserConnection conn = new BrowserConnection(socket, path, this);
          socket.attach(conn);
          if (!hs.accept(ctx, req, startMaxFrameSize, socket, () -> accepted(conn))) {
            release(path);
          }
        },
        err -> {
          handshakesInFlight--;
          hs.refuse(ctx, req, 404);
        }));
  }

  /**
   * Vhosts this instance has seen exist, so that a handshake does not ask the registry again:
   * forgotten when the vhost is deleted (the registries announce it); bounded, cleared when full.
   */
  private final java.util.Set<String> knownVhosts = new java.util.HashSet<>();
  private static final int KNOWN_VHOSTS_MAX = 10_000;

  private Future<?> vhostExists(String path) {
    if (knownVhosts.contains(path)) {
      return Future.succeededFuture();
    }
    return registry(path).exists().onSuccess(ok -> {
      if (knownVhosts.size() >= KNOWN_VHOSTS_MAX) {
        knownVhosts.clear();
      }
      knownVhosts.add(path);
    });
  }

  /** The vhost's own {@code origins} list if declared, else {@code websocket.allowedOrigins}; empty allows all. */
  private boolean originAllowed(String vhost, String origin) {
    JsonObject declared = declaredVhosts.getJsonObject(vhost);
    io.vertx.core.json.JsonArray allowed = declared != null && declared.containsKey("origins")
        ? declared.getJsonArray("origins") : allowedOrigins;
    return allowed == null || allowed.isEmpty() || (origin != null && allowed.contains(origin));
  }

  /** Counts the connection against the node and vhost limits; false (and nothing counted) if over. */
  private boolean admit(String vhost) {
    int perNode = limits.getInteger("connectionsPerNode");
    int perVhost = limits.getInteger("connectionsPerVhost");
    if (connectionCounts.getOrDefault("", 0) >= perNode || connectionCounts.getOrDefault(vhost, 0) >= perVhost) {
      return false;
    }
    connectionCounts.merge("", 1, Integer::sum);
    connectionCounts.merge(vhost, 1, Integer::sum);
    return true;
  }

  private void release(String vhost) {
    connectionCounts.compute("", (k, n) -> n == null || n <= 1 ? null : n - 1);
    connectionCounts.compute(vhost, (k, n) -> n == null || n <= 1 ? null : n - 1);
  }

  JsonObject limits() {
    return limits;
  }

  private void accepted(BrowserConnection conn) {
    // Bounds what a slow reader can make us hold; beyond it frames are dropped (see writeSegment).
    boundOutbound(conn);
    subscribers.connected(conn);
    loopContext.emit(null, v -> conn.start());
  }

  void closed(BrowserConnection conn) {
    subscribers.disconnected(conn);
    release(conn.vhost);
  }

  HistoryStreams historyStreams() {
    return historyStreams;
  }

  /** Appends a broadcast of a channel with history, then publishes it with its offset. */
  io.webrocket.history.HistoryAppender historyAppender() {
    return historyAppender;
  }

  /** Publishes a user event to every endpoint instance on every node. Encoded once, by the caller. */
  void publish(String vhost, String channel, Frame frame) {
    vertx.eventBus().publish(Addresses.fanout(), frame,
        new DeliveryOptions().addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel));
  }

  /**
   * A fan-out message for this instance's subscribers. It joins the pass's batch and is written
   * with the rest of its channel's segment (see {@link FanoutBatch}); one that skips a sid (a
   * presence announcement for everyone but the member) cannot share a segment, so it is written
   * on its own, after what is pending.
   */
  private void deliver(Message<Frame> msg) {
    String vhost = msg.headers().get(Addresses.VHOST);
    String channel = msg.headers().get(Addresses.CHANNEL);
    String offset = msg.headers().get(Addresses.OFFSET);
    if (offset != null) {
      historyStreams.onFrame(vhost, channel, Long.parseLong(offset), msg.headers().get(Addresses.EPOCH), msg.body());
      return;
    }
    if (subscribers.subscribers(vhost, channel).isEmpty()) {
      return;
    }
    String skip = msg.headers().get(Addresses.SKIP);
    if (skip == null) {
      outbound.fanout(vhost, channel, msg.body());
      return;
    }
    outbound.seal();
    ByteBuf frame = Outbound.direct(msg.body());
    try {
      writeSegment(vhost, channel, skip, frame, 1, 0);
    } finally {
      frame.release();
    }
  }

  /**
   * Writes {@code frames}, {@code messages} complete frames of one channel, to each of its
   * subscribers as of now but {@code skip}: one write per subscriber, not flushed before the end
   * of the pass. A subscriber over its outbound bound loses all of them, counted per message.
   */
  private void writeSegment(String vhost, String channel, String skip, ByteBuf frames, int messages, long firstOffset) {
    int written = 0;
    int lost = 0;
    for (BrowserConnection c : subscribers.subscribers(vhost, channel)) {
      if (skip != null && skip.equals(c.sid)) {
        continue;
      }
      if (!outbound.hasRoom(c)) {
        lost++;
        if (firstOffset > 0) {
          historyStreams.dropped(c, vhost, channel, firstOffset);
        }
        continue;
      }
      if (firstOffset > 0) {
        historyStreams.beforeEvent(c, channel);
      }
      outbound.queue(c, frames);
      written++;
    }
    delivered.computeIfAbsent(vhost, metrics::delivered).increment((double) written * messages);
    if (lost > 0) {
      dropped.computeIfAbsent(vhost, metrics::dropped).increment((double) lost * messages);
    }
  }

  private void onEvent(Message<JsonObject> msg) {
    JsonObject e = msg.body();
    String vhost = e.getString("vhost");
    switch (e.getString("type", "")) {
      case "channelClosed" -> {
        subscribers.channelClosed(vhost, e.getString("channel"));
        historyStreams.channelClosed(vhost, e.getString("channel"));
      }
      case "vhostDeleted" -> {
        knownVhosts.remove(vhost);
        subscribers.connections(vhost).forEach(c -> c.shutdown((short) 1000, "vhost deleted"));
      }
      default -> {}
    }
  }

  /** One slice of the sockets: pings them; closes those silent for two intervals or unwritable too long. */
  private void checkLiveness(long intervalNs, int slice) {
    long now = System.nanoTime();
    for (BrowserConnection c : subscribers.all()) {
      if (Math.floorMod(System.identityHashCode(c), PING_SLICES) != slice) {
        continue;
      }
      if (c.closing()) {
        continue; // its close is under way: nothing may follow the close frame
      }
      if (now - c.lastHeard > 2 * intervalNs) {
        policyClose("pingTimeout");
        c.shutdown((short) 1001, "ping timeout");
      } else if (c.unwritableSince != 0 && !c.writable() && now - c.unwritableSince > slowConsumerTimeoutNs) {
        policyClose("slowConsumer");
        c.shutdown((short) 1008, "slow consumer");
      } else {
        c.pinged();
        c.socket().ping(outbound);
      }
    }
  }
}
