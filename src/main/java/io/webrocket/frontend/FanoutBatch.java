package io.webrocket.frontend;

import io.webrocket.protocol.Frame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayDeque;

/**
 * The fan-out messages of one event-loop pass, gathered per channel so that each subscriber gets
 * one write per channel per pass instead of one per message.
 *
 * <p>Why: at high rates the event loop is still writing one pass when the next broadcasts
 * arrive, so a pass carries 10–20 messages for the same channel. Writing each of them to each of
 * 10,000 sockets, one {@code ctx.write} per subscriber per message through Netty's outbound
 * pipeline, was about 36% of the server's CPU in a profile (docs/performance.md): the Java cost
 * is per frame written, while the kernel's is per socket (one {@code writev} per flush, which
 * this does not change). So consecutive messages of one (vhost, channel) are copied into one
 * pooled direct buffer, a <em>segment</em>, and a segment is written to each subscriber as one
 * retained duplicate: one write per subscriber per segment instead of one per message.
 *
 * <p>Exactness: {@link #seal()} writes the pending segments, in arrival order, to the
 * subscribers the channels have <em>now</em>. The owner seals before anything that would make
 * that differ from writing each message on arrival: before a channel's subscribers change (see
 * {@link LocalSubscribers}; a socket that closes leaves its channels first), before a direct
 * write to one socket or a flush (see {@link Outbound}), and at the end of the pass. A message
 * for another channel starts a new segment, so a subscriber of both still gets X1, Y1, X2 in
 * that order.
 *
 * <p>Bound: at most {@link #MAX_PENDING_BYTES} of frames are pending per endpoint instance; the
 * message that would go over seals what is pending first (a larger single frame travels alone).
 * So a segment is at most that big, and a socket's outbound queue can exceed its bound by at most
 * one segment (before, one frame): writability is checked per segment.
 *
 * <p>Confined to the endpoint instance's event loop: no locks.
 */
final class FanoutBatch {
  /** Writes one segment, {@code messages} complete frames of one channel, to its subscribers as of now. */
  interface Writer {
    void write(String vhost, String channel, ByteBuf frames, int messages, long firstOffset);
  }

  /** Frames pending per endpoint instance, across its segments: 64 KiB. */
  static final int MAX_PENDING_BYTES = 64 * 1024;
  /** A segment's first allocation: a few typical (100–200 byte) frames before it grows. */
  private static final int FIRST_CAPACITY = 512;

  private static final class Segment {
    final String vhost;
    final String channel;
    final ByteBuf frames;
    /** The offset of the segment's first event (channels with history; they come in order), or 0. */
    final long firstOffset;
    int messages;

    Segment(String vhost, String channel, ByteBuf frames, long firstOffset) {
      this.vhost = vhost;
      this.channel = channel;
      this.frames = frames;
      this.firstOffset = firstOffset;
    }
  }

  private final ArrayDeque<Segment> pending = new ArrayDeque<>();
  private int pendingBytes;
  private boolean sealing;
  private Writer writer;

  /** Who writes the sealed segments. Must be set before the first {@link #append}. */
  void writer(Writer writer) {
    this.writer = writer;
  }

  /** Copies one complete frame for (vhost, channel) into the pass's last segment, or a new one. */
  void append(String vhost, String channel, Frame frame) {
    append(vhost, channel, frame, 0);
  }

  /**
   * Like {@link #append(String, String, Frame)}; {@code offset}: the event's offset if the channel keeps history, else 0.
   */
  void append(String vhost, String channel, Frame frame, long offset) {
    append(vhost, channel, frame, offset, 1);
  }

  /**
   * Like {@link #append(String, String, Frame, long)} for {@code messages} complete frames of the
   * channel back to back in {@code frame} (a backend connection's run of broadcasts, no history).
   */
  void append(String vhost, String channel, Frame frame, long offset, int messages) {
    byte[] wire = frame.wire();
    if (pendingBytes > 0 && pendingBytes + wire.length > MAX_PENDING_BYTES) {
      seal();
    }
    Segment last = pending.peekLast();
    if (last == null || !last.channel.equals(channel) || !last.vhost.equals(vhost)) {
      last = new Segment(vhost, channel, PooledByteBufAllocator.DEFAULT.directBuffer(Math.max(FIRST_CAPACITY, wire.length)),
          offset);
      pending.addLast(last);
    }
    last.frames.writeBytes(wire);
    last.messages += messages;
    pendingBytes += wire.length;
  }

  /**
   * Writes every pending segment, oldest first, and releases it (the sockets hold their own
   * duplicates). Does nothing if called again from inside a seal (e.g. a write that fails
   * synchronously and closes a socket): the outer call is still writing in order.
   */
  void seal() {
    if (sealing || pending.isEmpty()) {
      return;
    }
    sealing = true;
    try {
      Segment s;
      while ((s = pending.pollFirst()) != null) {
        pendingBytes -= s.frames.readableBytes();
        try {
          writer.write(s.vhost, s.channel, s.frames, s.messages, s.firstOffset);
        } finally {
          s.frames.release();
        }
      }
    } finally {
      sealing = false;
    }
  }
}
