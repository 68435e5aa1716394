package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.WriteBufferWaterMark;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.config.Tls;
import io.webrocket.vhost.Names;
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
  private io.webrocket.metrics.Metrics metrics;
  /** Hot-path counters per vhost: Micrometer lookups allocate. */
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> delivered = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> dropped = new java.util.HashMap<>();
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> broadcasts = new java.util.HashMap<>();
  private Outbound outbound;
  private HttpServer server;
  /** Each socket is pinged once per interval, in one of this many ticks (see schedulePings). */
  private static final int PING_SLICES = 10;
  private long pingTick;
  /** -1 until the first schedule: timer ids start at 0, so 0 may be another component's timer. */
  private long pingTimer = -1;
  private long triggerTimeoutMs;
  private int outboundQueueBytes;
  private long slowConsumerTimeoutNs;
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
    nodeId = io.webrocket.cluster.Clustering.nodeId(vertx);
    JsonObject c = config();
    metrics = io.webrocket.metrics.Metrics.of(c.getString("metrics"));
    subscribers = new LocalSubscribers(metrics);
    outbound = new Outbound(context);
    triggerTimeoutMs = c.getLong("triggerTimeoutMs");
    outboundQueueBytes = c.getInteger("outboundQueueBytes");
    slowConsumerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("slowConsumerTimeoutMs"));
    int maxFrame = c.getInteger("maxFrameSize");
    HttpServerOptions options = new HttpServerOptions()
        .setHost(c.getString("host"))
        .setPort(c.getInteger("port"))
        .setMaxWebSocketFrameSize(maxFrame)
        .setMaxWebSocketMessageSize(maxFrame)
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setRegisterWebSocketWriteHandlers(false)
        .setTcpNoDelay(true)
        .setReuseAddress(true);
    Tls.apply(c.getJsonObject("tls"), options);

    // Clustered: a broadcast published on any node reaches every node's endpoints (Vert.x sends
    // it once per node; the instances of a node share that one copy).
    vertx.eventBus().<Frame>consumer(Addresses.fanout(), this::deliver);
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(), m -> server.updateSSLOptions(Tls.sslOptions(m.body(), false), true)
        .onFailure(err -> LOG.error("TLS reload failed, keeping the previous certificate: {}", err.getMessage())));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      limits = m.body().getJsonObject("limits");
      declaredVhosts = m.body().getJsonObject("vhosts");
      reconfigure(m.body().getJsonObject("websocket"));
    });
    limits = c.getJsonObject("limits");
    declaredVhosts = c.getJsonObject("vhosts");
    allowedOrigins = c.getJsonArray("allowedOrigins");
    connectionCounts = vertx.sharedData().getLocalMap("webrocket.connections");
    maxFrameSize = maxFrame;
    startMaxFrameSize = maxFrame;
    schedulePings(c.getLong("pingIntervalMs"));

    // Plain HTTP on the WebSocket port only says where to go: it serves no files.
    Router router = Router.router(vertx);
    router.route().handler(ctx -> ctx.response().setStatusCode(404).putHeader("Content-Type", "text/plain")
        .end("WebRocket: open a WebSocket on /VHOST\n"));
    server = vertx.createHttpServer(options)
        .webSocketHandshakeHandler(this::handshake)
        .webSocketHandler(ws -> {}) // set up once accept() completes: see handshake
        .requestHandler(router);
    return server.listen();
  }

  /** Stops accepting and closes every socket with 1001 (going away) so clients reconnect elsewhere. */
  @Override
  public Future<?> stop() {
    vertx.cancelTimer(pingTimer);
    subscribers.all().forEach(c -> c.shutdown((short) 1001, "server shutting down"));
    return server.close();
  }

  io.webrocket.metrics.Metrics metrics() {
    return metrics;
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
    if (c.getInteger("maxFrameSize") > startMaxFrameSize) {
      LOG.warn("websocket.maxFrameSize above its start value {} takes effect after a restart", startMaxFrameSize);
    }
    maxFrameSize = Math.min(c.getInteger("maxFrameSize"), startMaxFrameSize);
    int queue = c.getInteger("outboundQueueBytes");
    if (queue != outboundQueueBytes) {
      outboundQueueBytes = queue;
      subscribers.all().forEach(this::boundOutbound);
    }
    schedulePings(c.getLong("pingIntervalMs"));
  }

  int maxFrameSize() {
    return maxFrameSize;
  }

  private void boundOutbound(BrowserConnection conn) {
    conn.channel().channel().config()
        .setWriteBufferWaterMark(new WriteBufferWaterMark(outboundQueueBytes / 2, outboundQueueBytes));
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
   * 403 origin not allowed, 503 over a connection or handshake limit.
   */
  private void handshake(ServerWebSocketHandshake hs) {
    String path = hs.path();
    if (!Names.isValidVhost(path)) {
      hs.reject(404);
      return;
    }
    if (!originAllowed(path, hs.headers().get("Origin"))) {
      hs.reject(403);
      return;
    }
    int instances = Math.max(1, config().getInteger("instances", 0) > 0 ? config().getInteger("instances")
        : Runtime.getRuntime().availableProcessors());
    if (handshakesInFlight >= Math.max(1, limits.getInteger("handshakesInFlight") / instances)) {
      hs.reject(503);
      return;
    }
    handshakesInFlight++;
    Bus.request(vertx, Addresses.vhost(path), "exists", null).onComplete(
        ok -> {
          handshakesInFlight--;
          if (!admit(path)) {
            hs.reject(503);
            return;
          }
          hs.accept().onComplete(ws -> accepted(ws), err -> release(path));
        },
        err -> {
          handshakesInFlight--;
          hs.reject(404);
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

  private void accepted(ServerWebSocket ws) {
    BrowserConnection conn = new BrowserConnection(ws, ws.path(), this);
    // RFC 6455 8.1: a text message that is not UTF-8 fails the connection (1007); Vert.x
    // would decode it with replacement characters instead.
    var pipeline = conn.channel().pipeline();
    if (pipeline.get("wsdecoder") != null) {
      pipeline.addAfter("wsdecoder", "wsutf8", new io.netty.handler.codec.http.websocketx.Utf8FrameValidator(false));
    }
    // Bounds what a slow reader can make us hold; beyond it frames are dropped (see deliver).
    boundOutbound(conn);
    subscribers.connected(conn);
    conn.start();
  }

  void closed(BrowserConnection conn) {
    subscribers.disconnected(conn);
    release(conn.vhost);
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
    if (subscribers.subscribers(vhost, channel).isEmpty()) {
      return;
    }
    if (!batchConnected) {
      connectBatch();
    }
    String skip = msg.headers().get(Addresses.SKIP);
    if (skip == null) {
      outbound.fanout(vhost, channel, msg.body());
      return;
    }
    outbound.seal();
    ByteBuf frame = Outbound.direct(msg.body());
    try {
      writeSegment(vhost, channel, skip, frame, 1);
    } finally {
      frame.release();
    }
  }

  /** The pass batch is connected (see connectBatch). */
  private boolean batchConnected;

  /**
   * Connects the pass batch: its segments are written by {@link #writeSegment}, and any change
   * to a channel's subscribers seals it first. Nothing is pending before the first fan-out
   * message, so doing it here is early enough. (It belongs in start(); it is here only to keep
   * this change clear of a rework of start() made in parallel.)
   */
  private void connectBatch() {
    outbound.segmentWriter((vhost, channel, frames, messages) -> writeSegment(vhost, channel, null, frames, messages));
    subscribers.beforeChange(outbound::seal);
    batchConnected = true;
  }

  /**
   * Writes {@code frames}, {@code messages} complete frames of one channel, to each of its
   * subscribers as of now but {@code skip}: one write per subscriber, not flushed before the end
   * of the pass. A subscriber over its outbound bound loses all of them, counted per message.
   */
  private void writeSegment(String vhost, String channel, String skip, ByteBuf frames, int messages) {
    int written = 0;
    int lost = 0;
    for (BrowserConnection c : subscribers.subscribers(vhost, channel)) {
      if (skip != null && skip.equals(c.sid)) {
        continue;
      }
      if (!c.writable() && c.flushPending) {
        // Over the bound only with frames not yet flushed this pass: hand them to the kernel
        // first, so a burst within one event-loop pass does not count against a fast reader.
        outbound.flushQueued(c);
      }
      if (!c.writable()) {
        slow(c);
        lost++;
        continue;
      }
      c.unwritableSince = 0;
      outbound.queue(c, frames);
      written++;
    }
    delivered.computeIfAbsent(vhost, metrics::delivered).increment((double) written * messages);
    if (lost > 0) {
      dropped.computeIfAbsent(vhost, metrics::dropped).increment((double) lost * messages);
    }
  }

  /** A subscriber that cannot keep up loses frames; one that stays behind is closed (see liveness). */
  private void slow(BrowserConnection c) {
    if (c.unwritableSince == 0) {
      c.unwritableSince = System.nanoTime();
    }
  }

  private void onEvent(Message<JsonObject> msg) {
    JsonObject e = msg.body();
    String vhost = e.getString("vhost");
    switch (e.getString("type", "")) {
      case "channelClosed" -> subscribers.channelClosed(vhost, e.getString("channel"));
      case "vhostDeleted" -> subscribers.connections(vhost).forEach(c -> c.shutdown((short) 1000, "vhost deleted"));
      default -> {}
    }
  }

  /** One slice of the sockets: pings them; closes those silent for two intervals or unwritable too long. */
  private void checkLiveness(long intervalNs, int slice) {
    long now = System.nanoTime();
    Buffer ping = Buffer.buffer();
    for (BrowserConnection c : subscribers.all()) {
      if (Math.floorMod(System.identityHashCode(c), PING_SLICES) != slice) {
        continue;
      }
      if (now - c.lastHeard > 2 * intervalNs) {
        c.shutdown((short) 1001, "ping timeout");
      } else if (c.unwritableSince != 0 && !c.writable() && now - c.unwritableSince > slowConsumerTimeoutNs) {
        c.shutdown((short) 1008, "slow consumer");
      } else {
        c.socket().writePing(ping);
      }
    }
  }
}
