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
import io.vertx.core.internal.ContextInternal;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket mechanics of one browser connection, below WWFP (RFC 6455): whole messages
 * (fragments joined by the aggregator before it), UTF-8 of text, ping and pong, the closing
 * handshake, and holding messages back while {@link BrowserConnection} waits for a registry.
 *
 * <p>Netty calls it on the endpoint instance's event loop; what reaches {@link BrowserConnection}
 * is emitted on the instance's Vert.x context, so its event-bus calls and their replies run there.
 */
final class BrowserSocket extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(BrowserSocket.class);
  /** How long a close we sent waits for the peer's close before the TCP connection is dropped. */
  static final long CLOSING_TIMEOUT_MS = 10_000;
  /** An empty unmasked ping frame, shared by every socket (never released). */
  private static final ByteBuf PING = Unpooled.unreleasableBuffer(
      Unpooled.directBuffer(2).writeByte(0x89).writeByte(0).asReadOnly());
  /** Stands for a binary message in the held queue: WWFP answers it with an error, in turn. */
  private static final Object BINARY = new Object();

  private final ContextInternal context;
  /** {@link #handle}, made once: a method reference per message would allocate on the hot path. */
  private final io.vertx.core.Handler<Object> handler = this::handle;
  private ChannelHandlerContext ctx;
  private BrowserConnection conn;
  /** A registry request is under way: later messages wait (see {@link #pause}). */
  private boolean paused;
  /** A reply left the socket over its outbound bound: nothing more is read until it drains. */
  private boolean throttled;
  /** Messages read while paused or throttled, in order; bounded by one read, since reading stops then. */
  private ArrayDeque<Object> held;
  private boolean closeSent;
  private ScheduledFuture<?> closingTimer;

  BrowserSocket(ContextInternal context) {
    this.context = context;
  }

  void attach(BrowserConnection conn) {
    this.conn = conn;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Where frames are written: below this handler, so pre-encoded frames pass the encoder untouched. */
  ChannelHandlerContext context() {
    return ctx;
  }

  boolean writable() {
    return ctx.channel().isWritable();
  }

  /** True once a close frame has been sent: nothing more may follow it. */
  boolean closeSent() {
    return closeSent;
  }

  /** Our ping; skipped for a socket over its outbound bound (the slow-consumer close decides about it). */
  void ping(Outbound outbound) {
    outbound.writeIfRoom(conn, PING);
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

  /** Ends the connection with 1008 from the Netty side (called on the event loop). */
  void policyViolation(String reason) {
    fail((short) 1008, reason);
  }

  /** Stops handing messages to the connection (and reading) until {@link #resume}. */
  void pause() {
    paused = true;
    ctx.channel().config().setAutoRead(false);
  }

  /** Hands over the held messages, in order, until paused again; then reads on. Called on the context. */
  void resume() {
    paused = false;
    drain();
  }

  /**
   * A reply left the socket over its outbound bound: stops reading (and handing over what was
   * read) until the socket drains below half its bound. Called on the context.
   */
  void throttle() {
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
        conn.heard();
        ByteBuf content = text.content();
        if (!ByteBufUtil.isText(content, CharsetUtil.UTF_8)) {
          fail((short) 1007, "invalid UTF-8");
          return;
        }
        inbound(content.toString(CharsetUtil.UTF_8));
      } else if (frame instanceof BinaryWebSocketFrame) {
        conn.heard();
        inbound(BINARY);
      } else if (frame instanceof PingWebSocketFrame ping) {
        // Not "heard": a peer that pings without reading must not stay alive by it (a pong
        // answers our pings). The pong goes out only within the outbound bound, like a broadcast.
        if (!closeSent && conn.controlFrameAllowed()) {
          pong(ping.content());
        }
      } else if (frame instanceof PongWebSocketFrame) {
        if (conn.controlFrameAllowed()) {
          conn.heard();
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
    context.emit(null, v -> conn.onClosed(null));
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
  void close(short status, String reason) {
    if (closeSent) {
      return;
    }
    closeSent = true;
    ctx.writeAndFlush(new CloseWebSocketFrame(status, reason));
    closingTimer = ctx.executor().schedule(() -> {
      ctx.close();
    }, CLOSING_TIMEOUT_MS, TimeUnit.MILLISECONDS);
  }

  /** Sends the close frame and ends the connection without waiting for the answer (the node is stopping). */
  void closeNow(short status, String reason) {
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
    context.emit(null, v -> conn.onClosed(null));
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
