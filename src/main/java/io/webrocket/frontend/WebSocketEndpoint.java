package io.webrocket.frontend;

import io.webrocket.bus.NodeId;

import io.webrocket.protocol.Frame;

import io.netty.channel.WriteBufferWaterMark;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.config.Settings;
import io.webrocket.config.TlsSettings;
import io.webrocket.config.WebSocketSettings;
import io.webrocket.protocol.Names;
import io.webrocket.vertx.LoopContext;
import io.webrocket.vertx.VertxInternals;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser endpoint: WWFP over WebSocket on {@code /VHOST}. Deployed once per event loop,
 * all instances sharing the port; each owns the connections it accepted and delivers fan-out
 * frames to its local subscribers.
 *
 * <p>It wires the layers and applies the settings: the Netty transport ({@link WebSocketServer},
 * {@link Handshake}, {@link BrowserSocket}, {@link Outbound} with {@link FanoutWriter}), the WWFP
 * sessions ({@link BrowserConnection}, which see only their {@link Transport}, {@link Vhosts}
 * and {@link Sessions}), {@link Admission} and {@link Liveness}. It decides about each upgrade
 * ({@link Handshake.Gate}) and follows the registries' events.
 *
 * <p>Config: the node's whole configuration (its {@code websocket}, {@code limits}, {@code vhosts}
 * and {@code tls} sections apply), plus {@code metrics}, the name of the node's metrics registry.
 */
public final class WebSocketEndpoint extends VerticleBase implements Handshake.Gate {
  private static final Logger LOG = LoggerFactory.getLogger(WebSocketEndpoint.class);

  private LocalSubscribers subscribers;
  private Sessions sessions;
  private PresenceJoins presenceJoins;
  private Vhosts vhosts;
  private Admission admission;
  private Liveness liveness;
  private Outbound outbound;
  private FanoutWriter fanout;
  private ServerTls tls;
  private WebSocketServer server;
  /** This instance's context, as the Netty side uses it (emit, its event loop). */
  private LoopContext loop;
  /** Shared by every socket: the write-queue bound (see Outbound#hasRoom). */
  private WriteBufferWaterMark outboundBound;
  private int outboundQueueBytes;
  /** The websocket section as last applied (see {@link #apply}); its address and instances are the start's. */
  private WebSocketSettings websocket;
  /** The server's own frame limit, fixed at start: a live change can only lower the effective one. */
  private int startMaxFrameSize;

  @Override
  public Future<?> start() {
    JsonObject c = config();
    Settings settings = Settings.parse(c);
    WebSocketSettings started = settings.websocket();
    int instances = Math.max(1, started.instances() > 0 ? started.instances() : Runtime.getRuntime().availableProcessors());
    io.webrocket.metrics.Metrics metrics = io.webrocket.metrics.Metrics.of(c.getString("metrics"));
    io.webrocket.vhost.NodeView view = new io.webrocket.vhost.NodeView(vertx);
    subscribers = new LocalSubscribers(metrics, view);
    loop = VertxInternals.loop(context);
    outbound = new Outbound(loop);
    fanout = new FanoutWriter(subscribers, outbound, metrics);
    admission = new Admission(vertx.sharedData().getLocalMap("webrocket.connections"), instances);
    // Channels with history: offset order, joining at an offset, gap notices (see HistoryStreams).
    io.webrocket.history.Histories histories = io.webrocket.history.Histories.of(vertx, c.getString("metrics"), settings.history());
    HistoryStreams historyStreams = new HistoryStreams(vertx, subscribers, outbound, histories);
    fanout.historyStreams(historyStreams);
    presenceJoins = new PresenceJoins(settings.presence().heldPerChannel(),
        () -> metrics.presenceDropped("heldPerChannel").increment());
    fanout.presenceJoins(presenceJoins);
    sessions = new Sessions(subscribers, admission, metrics, historyStreams,
        new io.webrocket.history.HistoryAppender(vertx, histories), presenceJoins);
    liveness = new Liveness(vertx, subscribers::all, metrics);
    tls = new ServerTls(vertx);
    vhosts = new Vhosts(vertx, view, new io.webrocket.store.StoreClient(vertx), NodeId.of(vertx));

    startMaxFrameSize = started.maxFrameSize();
    apply(settings);

    // Clustered: a broadcast published on any node reaches every node's endpoints (Vert.x sends
    // it once per node; the instances of a node share that one copy).
    vertx.eventBus().<Frame>consumer(Addresses.fanout(), fanout::deliver);
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(), m -> tls.reload(TlsSettings.of(m.body()))
        .onFailure(err -> LOG.error("TLS reload failed, keeping the previous certificate: {}", err.getMessage())));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      Settings next = Settings.parse(m.body());
      historyStreams.histories().reconfigure(next.history());
      apply(next);
    });

    return io.webrocket.vhost.AccessTokenGrid.of(vertx)
        .compose(grid -> {
          vhosts.accessTokens(grid);
          return tls.start(settings.tls());
        })
        .compose(v -> WebSocketServer.bind(loop, started.host(), started.port(), instances > 1,
            tls::current, () -> new Handshake(this)))
        .onSuccess(bound -> server = bound);
  }

  /**
   * Checks that no other process holds the configured port (instances share it with
   * SO_REUSEPORT) and resolves port 0 to a free one, so that all instances listen on the same.
   */
  public static int claimPort(String host, int port) throws java.io.IOException {
    return WebSocketServer.claim(host, port);
  }

  /** Stops accepting and closes every socket with 1001 (going away) so clients reconnect elsewhere. */
  @Override
  public Future<?> stop() {
    liveness.stop();
    subscribers.all().forEach(c -> c.shutdownNow((short) 1001, "server shutting down"));
    return server == null ? Future.succeededFuture() : server.close();
  }

  /**
   * At start and on every reload: the live part of the websocket section, the limits and the
   * declared vhosts' origins, applied to existing sockets too, none of which is dropped. A
   * {@code maxFrameSize} above the start's needs a restart (the server's own limit is fixed).
   */
  private void apply(Settings settings) {
    WebSocketSettings ws = settings.websocket();
    websocket = ws;
    admission.configure(settings.limits(), settings.vhosts(), ws.allowedOrigins());
    vhosts.triggerTimeoutMs(ws.triggerTimeoutMs());
    liveness.slowConsumerTimeoutMs(ws.slowConsumerTimeoutMs());
    if (ws.maxFrameSize() > startMaxFrameSize) {
      LOG.warn("websocket.maxFrameSize above its start value {} takes effect after a restart", startMaxFrameSize);
    }
    sessions.configure(settings.limits(), Math.min(ws.maxFrameSize(), startMaxFrameSize));
    presenceJoins.bound(settings.presence().heldPerChannel());
    int queue = ws.outboundQueueBytes();
    if (queue != outboundQueueBytes) {
      outboundQueueBytes = queue;
      outboundBound = new WriteBufferWaterMark(queue / 2, queue);
      subscribers.all().forEach(conn -> conn.wire.bound(outboundBound));
    }
    liveness.schedule(ws.pingIntervalMs());
  }

  @Override
  public long handshakeTimeoutMs() {
    return websocket.handshakeTimeoutMs();
  }

  @Override
  public long messageTimeoutMs() {
    return websocket.messageTimeoutMs();
  }

  /**
   * Known vhosts upgrade; anything else is refused before a WebSocket exists: 404 unknown vhost,
   * 403 origin not allowed, 503 over a connection or handshake limit. Called by {@link Handshake}
   * on this instance's event loop; owns {@code req}.
   */
  @Override
  public void upgrade(Handshake hs, ChannelHandlerContext ctx, FullHttpRequest req) {
    String path = new io.netty.handler.codec.http.QueryStringDecoder(req.uri()).rawPath();
    if (!Names.isValidVhost(path)) {
      hs.refuse(ctx, req, 404);
      return;
    }
    if (!admission.originAllowed(path, req.headers().get(HttpHeaderNames.ORIGIN))) {
      hs.refuse(ctx, req, 403);
      return;
    }
    if (!admission.handshakeStarted()) {
      hs.refuse(ctx, req, 503);
      return;
    }
    loop.emit(null, v -> vhosts.exists(path).onComplete(
        ok -> {
          admission.handshakeEnded();
          if (!ctx.channel().isActive()) {
            req.release();
            return;
          }
          if (!admission.admit(path)) {
            hs.refuse(ctx, req, 503);
            return;
          }
          BrowserSocket socket = new BrowserSocket(loop, outbound);
          BrowserConnection conn = new BrowserConnection(socket, path, sessions, vhosts);
          socket.attach(conn);
          if (!hs.accept(ctx, req, startMaxFrameSize, socket, () -> accepted(conn))) {
            admission.release(path);
          }
        },
        err -> {
          admission.handshakeEnded();
          hs.refuse(ctx, req, 404);
        }));
  }

  private void accepted(BrowserConnection conn) {
    // Bounds what a slow reader can make us hold; beyond it frames are dropped (see FanoutWriter).
    conn.wire.bound(outboundBound);
    sessions.opened(conn);
    loop.emit(null, v -> conn.opened());
  }

  private void onEvent(Message<JsonObject> msg) {
    JsonObject e = msg.body();
    String vhost = e.getString("vhost");
    switch (e.getString("type", "")) {
      case "channelClosed" -> {
        subscribers.channelClosed(vhost, e.getString("channel"));
        sessions.historyStreams().channelClosed(vhost, e.getString("channel"));
      }
      case "vhostDeleted" -> {
        vhosts.forget(vhost);
        subscribers.connections(vhost).forEach(c -> c.shutdown((short) 1000, "vhost deleted"));
      }
      default -> {}
    }
  }
}
