package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Joins the fragments of a message (RFC 6455 5.4) into one frame of at most {@code maxFrame}
 * bytes, and bounds how long that may take: a message whose first fragment arrived must be
 * complete within {@code websocket.messageTimeoutMs}, or {@code timedOut} runs (the socket is
 * closed) and the fragments held so far are released at once.
 *
 * <p>Why: the fragments held are up to {@code maxFrame} bytes per socket, and a peer could keep
 * them forever by never sending the last one. Control frames interleaved with the fragments
 * (pings, pongs) pass through and are no progress on the message: only its last fragment stops
 * the clock. One timer per fragmented message, none for the usual single-frame one.
 */
final class MessageAssembler extends WebSocketFrameAggregator {
  private final LongSupplier timeoutMs;
  private final Runnable timedOut;
  private ScheduledFuture<?> deadline;

  MessageAssembler(int maxFrame, LongSupplier timeoutMs, Runnable timedOut) {
    super(maxFrame);
    this.timeoutMs = timeoutMs;
    this.timedOut = timedOut;
  }

  @Override
  protected WebSocketFrame beginAggregation(WebSocketFrame start, ByteBuf content) throws Exception {
    cancel();
    deadline = ctx().executor().schedule(this::expire, timeoutMs.getAsLong(), TimeUnit.MILLISECONDS);
    return super.beginAggregation(start, content);
  }

  @Override
  protected void finishAggregation(WebSocketFrame aggregated) throws Exception {
    cancel();
    super.finishAggregation(aggregated);
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, WebSocketFrame oversized) throws Exception {
    cancel(); // closed with 1009 instead
    super.handleOversizedMessage(ctx, oversized);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.handlerRemoved(ctx);
  }

  private void expire() {
    deadline = null;
    releaseCurrentMessage(); // later fragments of it are discarded
    timedOut.run();
  }

  private void cancel() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
