package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes pre-encoded WebSocket text frames to the sockets of one endpoint instance and flushes
 * each socket once per event-loop pass.
 *
 * <p>Why: a flush is a {@code write()} syscall; flushing per delivered message caps fan-out at
 * the kernel's per-syscall cost. Frames written during one pass leave in one {@code writev}
 * per socket. Frames are encoded once per broadcast and written as retained duplicates of one
 * buffer, bypassing Vert.x's frame encoder, so they must be complete unmasked server frames.
 * All calls happen on the instance's event loop.
 */
final class Outbound {
  private final Context context;
  private final List<BrowserConnection> dirty = new ArrayList<>();
  private boolean flushScheduled;

  Outbound(Context context) {
    this.context = context;
  }

  /** One complete text frame (FIN, opcode 1, unmasked) carrying the UTF-8 JSON {@code payload}. */
  static ByteBuf textFrame(Buffer payload) {
    return direct(Frame.text(payload));
  }

  /**
   * The frame in a direct buffer: copied once per endpoint instance, then shared by every
   * subscriber as a retained duplicate (a heap buffer would be copied again per socket write).
   */
  static ByteBuf direct(Frame frame) {
    byte[] wire = frame.wire();
    return Unpooled.directBuffer(wire.length).writeBytes(wire);
  }

  /** Queues {@code frame} (not consumed: the caller releases it) on the connection's socket. */
  void write(BrowserConnection conn, ByteBuf frame) {
    var ctx = conn.channel();
    ctx.write(frame.retainedDuplicate(), ctx.voidPromise());
    if (!conn.flushPending) {
      conn.flushPending = true;
      dirty.add(conn);
      if (!flushScheduled) {
        flushScheduled = true;
        context.runOnContext(v -> flush());
      }
    }
  }

  /** Flushes one socket now, e.g. before it is closed. */
  void flushNow(BrowserConnection conn) {
    conn.channel().flush();
  }

  private void flush() {
    flushScheduled = false;
    for (int i = 0; i < dirty.size(); i++) {
      BrowserConnection c = dirty.get(i);
      c.flushPending = false;
      c.channel().flush();
    }
    dirty.clear();
  }
}
