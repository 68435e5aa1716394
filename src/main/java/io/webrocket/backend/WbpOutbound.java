package io.webrocket.backend;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.vertx.core.buffer.Buffer;

/**
 * Everything the broker writes to one backend socket, on one path, so that what is queued can be
 * counted: replies, heartbeats, triggers, errors. Bytes are queued on the Netty channel and
 * flushed once per event-loop pass (a pipelined burst leaves in one {@code write()}, see
 * docs/performance.md); {@link #queued()} is what the channel holds and the kernel has not
 * taken, written but unflushed included (Vert.x's own {@code writeQueueFull()} does not see
 * writes made this way). Confined to the connection's event loop.
 */
final class WbpOutbound {
  private final ChannelHandlerContext channel;
  private int limit;
  private boolean flushScheduled;
  private boolean drainAwaited;
  /** Runs before every flush: what must reach the bus before the replies reach the client. */
  private Runnable beforeFlush = () -> {};

  WbpOutbound(ChannelHandlerContext channel, int limit) {
    this.channel = channel;
    this.limit = limit;
  }

  /** Sets what runs before every flush (the connection's gathered broadcasts, see BroadcastBatch). */
  void beforeFlush(Runnable hook) {
    this.beforeFlush = hook;
  }

  /** {@code backend.outboundQueueBytes}, live. */
  void limit(int bytes) {
    this.limit = bytes;
  }

  void write(Buffer message) {
    channel.write(Unpooled.wrappedBuffer(message.getBytes()), channel.voidPromise());
    if (!flushScheduled) {
      flushScheduled = true;
      channel.executor().execute(() -> {
        flushScheduled = false;
        beforeFlush.run();
        channel.flush();
      });
    }
  }

  /** Writes out what is queued now (before a close). */
  void flush() {
    beforeFlush.run();
    channel.flush();
  }

  /** Bytes written to the socket that the kernel has not taken yet. */
  long queued() {
    ChannelOutboundBuffer out = channel.channel().unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  /** Over {@code backend.outboundQueueBytes}: the peer is not reading what it is sent. */
  boolean full() {
    return queued() > limit;
  }

  /** At or under half the bound: room enough to take requests again. */
  boolean drained() {
    return queued() <= limit / 2;
  }

  /**
   * Runs {@code then} once everything queued so far has reached the kernel (or the connection
   * is gone); at most one such wait at a time. A marker write completes in order after the bytes
   * before it.
   */
  void whenDrained(Runnable then) {
    if (drainAwaited) {
      return;
    }
    drainAwaited = true;
    afterWritten(() -> {
      drainAwaited = false;
      then.run();
    });
  }

  /** Runs {@code then} once everything queued so far has reached the kernel (or the connection is gone). */
  void afterWritten(Runnable then) {
    channel.write(Unpooled.EMPTY_BUFFER).addListener(f -> then.run());
    flush(); // through beforeFlush, as every flush: no reply leaves before its broadcast
  }
}
