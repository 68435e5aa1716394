package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.webrocket.vertx.LoopContext;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frame socket: the WebSocket mechanics of one browser connection, below WWFP (RFC 6455):
 * whole messages (fragments joined by the {@link MessageAssembler} before it), UTF-8 of text,
 * ping and pong, the closing handshake, holding messages back while its session waits for a
 * registry, and the socket's write state (queued, flush pending, over its bound since when).
 *
 * <p>Its session sees it as a {@link Transport} and it delivers to the session through
 * {@link TransportEvents}. Netty calls it on the endpoint instance's event loop; what reaches
 * the session is emitted on the instance's Vert.x context, so its event-bus calls and their
 * replies run there. The endpoint's fan-out writer ({@link Outbound}) and {@link Liveness} use
 * the package-private methods below.
 */
final class BrowserSocket extends ChannelInboundHandlerAdapter implements Transport {
  private static final Logger LOG = LoggerFactory.getLogger(BrowserSocket.class);
  /** How long a close we sent waits for the peer's close before the TCP connection is dropped. */
  static final long CLOSING_TIMEOUT_MS = 10_000;
  /** An empty unmasked ping frame, shared by every socket (never released). */
  private static final ByteBuf PING = Unpooled.unreleasableBuffer(
      Unpooled.directBuffer(2).writeByte(0x89).writeByte(0).asReadOnly());
  /** Stands for a binary message in the held queue: WWFP answers it with an error, in turn. */
  private static final Object BINARY = new Object();

  private final LoopContext context;
  private final Outbound outbound;
  /** {@link #handle}, made once: a method reference per message would allocate on the hot path. */
  private final io.vertx.core.Handler<Object> handler = this::handle;
  private ChannelHandlerContext ctx;
  private TransportEvents conn;
  /** When a frame was last heard from the peer (a message, or a pong within the rate), for {@link Liveness}. */
  private long lastHeard = System.nanoTime();
  /** Written to since its last flush: listed by {@link Outbound} for the end of the pass. */
  private boolean flushPending;
  /** Since when the socket is over its outbound bound (0: within it): the slow-consumer clock. */
  private long unwritableSince;
  /** A registry request is under way: later messages wait (see {@link #pause}). */
  private boolean paused;
  /** A reply left the socket over its outbound bound: nothing more is read until it drains. */
  private boolean throttled;
  /** Messages read while paused or throttled, in order; bounded by one read, since reading stops then. */
  private ArrayDeque<Object> held;
  private boolean closeSent;
  private ScheduledFuture<?> closingTimer;

  BrowserSocket(LoopContext context, Outbound outbound) {
    this.context = context;
    this.outbound = outbound;
  }

  /** The session this socket delivers to; set before the upgrade completes. */
  void attach(TransportEvents session) {
    this.conn = session;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  boolean writable() {
    return ctx.channel().isWritable();
  }

  @Override
  public boolean closeSent() {
    return closeSent;
  }

  @Override
  public boolean reply(ByteBuf frame) {
    return outbound.write(this, frame);
  }

  @Override
  public boolean replyIfRoom(ByteBuf frame) {
    return outbound.writeIfRoom(this, frame);
  }

  @Override
  public void flush() {
    outbound.flushNow(this);
  }

  /** Our ping; skipped for a socket over its outbound bound (the slow-consumer close decides about it). */
  void ping() {
    outbound.writeIfRoom(this, PING);
  }

  long lastHeard() {
    return lastHeard;
  }

  private void heard() {
    lastHeard = System.nanoTime();
  }

  /** Since when the socket is over its outbound bound, 0 if within it. */
  long unwritableSince() {
    return unwritableSince;
  }

  /** The per-socket write bound: the channel's write-buffer water marks. */
  void bound(io.netty.channel.WriteBufferWaterMark bound) {
    ctx.channel().config().setWriteBufferWaterMark(bound);
  }

  /**
   * True if one more frame may be queued (see {@link Outbound#hasRoom}). Frames queued and not
   * yet flushed this pass are handed to the kernel first, so a burst within one pass does not
   * count against a fast reader; over the bound, the slow-consumer clock starts.
   */
  boolean hasRoom() {
    if (!writable() && flushPending) {
      ctx.flush();
    }
    if (!writable()) {
      if (unwritableSince == 0) {
        unwritableSince = System.nanoTime();
      }
      return false;
    }
    unwritableSince = 0;
    return true;
  }

  /**
   * Queues a retained duplicate of {@code frame} below this handler, so pre-encoded frames pass
   * the encoder untouched; not flushed. True if it is the first write since the last flush
   * round: the caller lists the socket to flush.
   */
  boolean queue(ByteBuf frame) {
    ctx.write(frame.retainedDuplicate(), ctx.voidPromise());
    if (flushPending) {
      return false;
    }
    flushPending = true;
    return true;
  }

  /** Hands what is queued to the kernel (still listed for the round's flush). */
  void flushQueued() {
    ctx.flush();
  }

  /** The flush round's flush: hands what is queued to the kernel and unlists the socket. */
  void flushRound() {
    flushPending = false;
    ctx.flush();
  }

  /** The answer to a ping, with its application data (at most 125 bytes, checked by the decoder). */
  private void pong(ByteBuf data) {
    int n = data.readableBytes();
    ByteBuf frame = ctx.alloc().buffer(2 + n).writeByte(0x8A).writeByte(n).writeBytes(data, data.readerIndex(), n);
    try {
      conn.pong(frame);
    } finally {
      frame.release();
    }
  }

  /** A fragmented message was not complete within {@code websocket.messageTimeoutMs}. */
  void messageTimedOut() {
    context.emit(null, v -> conn.messageTimedOut());
  }

  @Override
  public void policyViolation(String reason) {
    fail((short) 1008, reason);
  }

  @Override
  public void pause() {
    paused = true;
    ctx.channel().config().setAutoRead(false);
  }

  @Override
  public void resume() {
    paused = false;
    drain();
  }

  /**
   * A reply left the socket over its outbound bound: stops reading (and handing over what was
   * read) until the socket drains below half its bound. Called on the context.
   */
  @Override
  public void throttle() {
    if (!throttled) {
      throttled = true;
      ctx.channel().config().setAutoRead(false);
    }
  }

  private boolean holding() {
    return paused || throttled;
  }

  private void drain() {
    while (!holding() && held != null && !held.isEmpty()) {
      handle(held.poll());
    }
    if (!holding() && !closeSent) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (throttled && ctx.channel().isWritable()) {
      context.emit(null, v -> {
        throttled = false;
        drain();
      });
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof WebSocketFrame frame)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    try {
      if (frame instanceof TextWebSocketFrame text) {
        heard();
        ByteBuf content = text.content();
        if (!ByteBufUtil.isText(content, CharsetUtil.UTF_8)) {
          fail((short) 1007, "invalid UTF-8");
          return;
        }
        inbound(content.toString(CharsetUtil.UTF_8));
      } else if (frame instanceof BinaryWebSocketFrame) {
        heard();
        inbound(BINARY);
      } else if (frame instanceof PingWebSocketFrame ping) {
        // Not "heard": a peer that pings without reading must not stay alive by it (a pong
        // answers our pings). The pong goes out only within the outbound bound, like a broadcast.
        if (!closeSent && conn.controlFrameAllowed()) {
          pong(ping.content());
        }
      } else if (frame instanceof PongWebSocketFrame) {
        if (conn.controlFrameAllowed()) {
          heard();
        }
      } else if (frame instanceof CloseWebSocketFrame close) {
        closeReceived(close.statusCode());
      }
    } finally {
      frame.release();
    }
  }

  private void inbound(Object message) {
    if (holding()) {
      if (held == null) {
        held = new ArrayDeque<>(4);
      }
      held.add(message);
      return;
    }
    context.emit(message, handler);
  }

  private void handle(Object message) {
    if (message == BINARY) {
      conn.onBinary();
    } else {
      conn.onText((String) message);
    }
  }

  /** The peer's close: answered with its status (RFC 6455 5.5.1), then the connection ends. */
  private void closeReceived(int status) {
    context.emit(null, v -> conn.onClosed());
    if (closeSent) {
      ctx.close();
      return;
    }
    closeSent = true;
    ctx.writeAndFlush(status < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(status, null))
        .addListener(ChannelFutureListener.CLOSE);
  }

  /**
   * Starts the closing handshake with {@code status}: frames written before it go first; the
   * connection ends when the peer answers, or after {@link #CLOSING_TIMEOUT_MS}.
   */
  @Override
  public void close(short status, String reason) {
    if (closeSent) {
      return;
    }
    closeSent = true;
    ctx.writeAndFlush(new CloseWebSocketFrame(status, reason));
    closingTimer = ctx.executor().schedule(() -> {
      ctx.close();
    }, CLOSING_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  @Override
  public void closeNow(short status, String reason) {
    if (!closeSent) {
      closeSent = true;
      ctx.writeAndFlush(new CloseWebSocketFrame(status, reason)).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }

  /** Ends the connection for a WebSocket-level fault: it leaves its channels, then the close goes out. */
  private void fail(short status, String reason) {
    context.emit(null, v -> conn.shutdown(status, reason));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (closingTimer != null) {
      closingTimer.cancel(false);
    }
    context.emit(null, v -> conn.onClosed());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof TooLongFrameException) {
      // The fragments of one message add up to more than the limit.
      fail((short) 1009, "message too big");
    } else if (cause instanceof CorruptedWebSocketFrameException) {
      // The frame decoder has already sent a close with the reason (1002, 1007, 1009) and closes.
      closeSent = true;
    } else {
      if (!(cause instanceof java.io.IOException)) {
        LOG.debug("closing a WebSocket after an unexpected error", cause);
      }
      ctx.close();
    }
  }
}
