package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP phase of a connection on the WebSocket port, until the upgrade (RFC 6455 section 4).
 * Plain requests get the browser client ({@link ClientLibrary}) or a 404 that says where to go; an upgrade is checked by
 * its {@link Gate} (vhost, origin, limits: {@link WebSocketEndpoint}) and then either refused with an HTTP
 * status or accepted: the 101 goes out, the HTTP codec is replaced by the WebSocket frame codec,
 * and this handler by a {@link BrowserSocket}.
 */
final class Handshake extends ChannelInboundHandlerAdapter {
  private static final byte[] NOT_A_WEBSOCKET = "WebRocket: open a WebSocket on /VHOST\n".getBytes(CharsetUtil.US_ASCII);

  /** Who decides about an upgrade, and the live timeouts the handshake and the new socket use. */
  interface Gate {
    /**
     * Answers the upgrade request {@code req} (owned: released by {@link #refuse} or
     * {@link #accept}) with one of them, now or later on the channel's event loop.
     */
    void upgrade(Handshake hs, ChannelHandlerContext ctx, FullHttpRequest req);

    /** How long a connection may take to upgrade ({@code websocket.handshakeTimeoutMs}). */
    long handshakeTimeoutMs();

    /** How long a fragmented message may take ({@code websocket.messageTimeoutMs}). */
    long messageTimeoutMs();
  }

  private final Gate endpoint;
  private ScheduledFuture<?> timeout;
  /** An upgrade is being checked: nothing more is read until it is answered. */
  private boolean checking;
  /** The client library was served: the connection is closing, later requests are dropped. */
  private boolean served;

  Handshake(Gate endpoint) {
    this.endpoint = endpoint;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    // A connection that has not upgraded in time is closed: an idle socket holds a file descriptor.
    timeout = ctx.executor().schedule(() -> {
      ctx.close();
    }, endpoint.handshakeTimeoutMs(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    timeout.cancel(false);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest req) || checking || served) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (req.decoderResult().isFailure()) {
      req.release();
      respond(ctx, HttpResponseStatus.BAD_REQUEST);
      return;
    }
    if (!req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      try {
        if (ClientLibrary.serves(req.uri())) {
          served = true;
          ClientLibrary.serve(ctx, req);
        } else {
          notAWebSocket(ctx, keepAlive);
        }
      } finally {
        req.release();
      }
      return;
    }
    if (req.method() != HttpMethod.GET) {
      req.release();
      respond(ctx, HttpResponseStatus.BAD_REQUEST);
      return;
    }
    if (!"13".equals(req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
      req.release();
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel()).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    checking = true;
    ctx.channel().config().setAutoRead(false);
    endpoint.upgrade(this, ctx, req);
  }

  /** Refuses the upgrade with {@code status} and closes the connection. Releases {@code req}. */
  void refuse(ChannelHandlerContext ctx, FullHttpRequest req, int status) {
    req.release();
    respond(ctx, HttpResponseStatus.valueOf(status));
  }

  /** RFC 6455 4.2.2: the accept value is SHA-1 of the key and this GUID, in base64. */
  private static final byte[] GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11".getBytes(CharsetUtil.US_ASCII);
  private static final io.netty.util.concurrent.FastThreadLocal<java.security.MessageDigest> SHA1 = new io.netty.util.concurrent.FastThreadLocal<>() {
    @Override
    protected java.security.MessageDigest initialValue() throws Exception {
      return java.security.MessageDigest.getInstance("SHA-1");
    }
  };

  /**
   * Switches the connection to WebSocket frames of at most {@code maxFrame} bytes (a message of
   * several frames too) and queues the 101; {@code opened} runs next, so the first message
   * ({@code :connected}) leaves with the 101 in one write. {@code socket} then gets the frames.
   * Releases {@code req}. Returns false, having answered 400, if the request is not a valid
   * upgrade (no key, or no {@code Connection: Upgrade}).
   */
  boolean accept(ChannelHandlerContext ctx, FullHttpRequest req, int maxFrame, BrowserSocket socket, Runnable opened) {
    String key;
    boolean upgrade;
    try {
      key = req.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY);
      upgrade = req.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    } finally {
      req.release();
    }
    if (key == null || key.isEmpty() || !upgrade) {
      respond(ctx, HttpResponseStatus.BAD_REQUEST);
      return false;
    }
    java.security.MessageDigest sha1 = SHA1.get();
    sha1.update(key.trim().getBytes(CharsetUtil.US_ASCII));
    String accept = java.util.Base64.getEncoder().encodeToString(sha1.digest(GUID));
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER);
    res.headers()
        .set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
        .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT, accept);
    // Encoded by the HTTP codec now (a write is encoded at once), flushed with :connected.
    ctx.write(res, ctx.voidPromise());
    WebSocketDecoderConfig frames = WebSocketDecoderConfig.newBuilder()
        .maxFramePayloadLength(maxFrame)
        .expectMaskedFrames(true)
        .allowMaskMismatch(false)
        .allowExtensions(false)
        .closeOnProtocolViolation(true)
        .withUTF8Validator(false) // checked per message by BrowserSocket, which closes with 1007
        .build();
    ChannelPipeline p = ctx.pipeline();
    p.remove("aggregator");
    p.addBefore("http", "wsencoder", new WebSocket13FrameEncoder(false));
    p.replace("http", "wsdecoder", new WebSocket13FrameDecoder(frames));
    p.addLast("messages", new MessageAssembler(maxFrame, endpoint::messageTimeoutMs, socket::messageTimedOut));
    p.addLast("browser", socket);
    p.remove(this);
    opened.run();
    ctx.channel().config().setAutoRead(true);
    return true;
  }

  private static void notAWebSocket(ChannelHandlerContext ctx, boolean keepAlive) {
    ByteBuf body = Unpooled.wrappedBuffer(NOT_A_WEBSOCKET);
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND, body);
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain").setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    if (!keepAlive) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    var written = ctx.writeAndFlush(res);
    if (!keepAlive) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** An empty answer, then the connection ends. */
  private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status) {
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
  }
}
