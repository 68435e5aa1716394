package io.webrocket.frontend;

import io.webrocket.protocol.Frame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.SingleThreadEventExecutor;
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
 *
 * <p>Fan-out messages are not written one by one: they gather in a {@link FanoutBatch} and each
 * subscriber gets one write per channel per pass. The batch is sealed (written out) at the end
 * of the pass, and before any direct write to one socket or a flush, so everything reaches each
 * socket in the order it happened. All calls happen on the instance's event loop.
 */
final class Outbound {
  private final io.webrocket.vertx.LoopContext context;
  private final FanoutBatch batch = new FanoutBatch();
  private final List<BrowserSocket> dirty = new ArrayList<>();
  /** The end-of-pass task (seal the batch, flush the written sockets) is queued. */
  private boolean passEndScheduled;
  /**
   * Sockets flushed per slice of a flush round. Between slices the event loop reads its sockets
   * (a slice is a scheduled task, and Netty runs those only after its next I/O step), so a
   * broadcast that arrives while a round is under way still reaches the sockets the round has
   * not flushed yet: its latency is at most about one round, not the rest of this round plus
   * the whole next one. 256 sockets take ≈ 3 ms here. A round has at most
   * {@link #SLICES_PER_ROUND} slices, because each slice boundary writes what arrived to every
   * subscriber: more boundaries would undo the pass batch (one write per subscriber per pass).
   */
  static final int FLUSH_SLICE = 256;
  static final int SLICES_PER_ROUND = 4;
  /**
   * How many times a due slice lets the tasks queued ahead of it run first. A broadcast from a
   * backend reaches this loop in event-bus hops, each a task (the backend connection asks the
   * vhost registry, which publishes to the endpoints): a hop queued behind a slice waits out
   * that slice, 2–3 ms at 256 sockets, so the message would miss the slice that follows the
   * read. Letting two rounds of queued tasks go first lets both hops land before the slice seals.
   */
  static final int SLICE_DEFERRALS = 2;
  private int deferrals;
  /** The flush round under way (empty: none): the sockets to flush, in order, and how far it got. */
  private final List<BrowserSocket> round = new ArrayList<>();
  private int roundNext;

  Outbound(io.webrocket.vertx.LoopContext context) {
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

  /** Who writes a sealed segment to the channel's subscribers (the endpoint). */
  void segmentWriter(FanoutBatch.Writer writer) {
    batch.writer(writer);
  }

  /** A fan-out message for (vhost, channel): written with the rest of its segment, see {@link FanoutBatch}. */
  void fanout(String vhost, String channel, Frame frame) {
    fanout(vhost, channel, frame, 0);
  }

  /** A fan-out event of a channel with history, at {@code offset} (delivered in offset order). */
  void fanout(String vhost, String channel, Frame frame, long offset) {
    batch.append(vhost, channel, frame, offset);
    schedulePassEnd();
  }

  /** {@code messages} complete frames of (vhost, channel) back to back (a backend's run of broadcasts). */
  void fanoutRun(String vhost, String channel, Frame frames, int messages) {
    batch.append(vhost, channel, frames, 0, messages);
    schedulePassEnd();
  }

  /** Writes the pending fan-out now, to the subscribers as of now (not flushed yet). */
  void seal() {
    batch.seal();
  }

  /**
   * Queues a reply {@code frame} (not consumed: the caller releases it) on the connection's
   * socket, after any pending fan-out. A reply is never dropped: the result says whether the
   * socket is still within its outbound bound, and when it is not the caller stops reading from
   * that peer until it drains, so a peer that never reads gets no more replies queued than what
   * it had already sent asks for.
   */
  boolean write(BrowserSocket conn, ByteBuf frame) {
    batch.seal();
    queue(conn, frame);
    return hasRoom(conn);
  }

  /**
   * Queues {@code frame} (not consumed) only if the socket is within its outbound bound, like a
   * broadcast; false (nothing written) if not. For pings and pongs, which a later one replaces.
   */
  boolean writeIfRoom(BrowserSocket conn, ByteBuf frame) {
    batch.seal();
    if (!hasRoom(conn)) {
      return false;
    }
    queue(conn, frame);
    return true;
  }

  /**
   * The per-socket outbound bound ({@code websocket.outboundQueueBytes}, the channel's write
   * buffer high-water mark, which counts the bytes of every frame written and not yet taken by
   * the kernel): true if one more frame may be queued. Frames queued and not yet flushed this
   * pass are handed to the kernel first, so a burst within one pass does not count against a
   * fast reader. Over the bound, the socket's slow-consumer clock starts (see the liveness check).
   */
  boolean hasRoom(BrowserSocket conn) {
    return conn.hasRoom();
  }

  /**
   * Queues {@code frame} without sealing: for the segment writer only, which runs inside a seal
   * (or right after one) and must not start another.
   */
  void queue(BrowserSocket conn, ByteBuf frame) {
    if (conn.queue(frame)) {
      dirty.add(conn);
      schedulePassEnd();
    }
  }

  /** Flushes one socket now, with any pending fan-out for it, e.g. before it is closed. */
  void flushNow(BrowserSocket conn) {
    batch.seal();
    conn.flushQueued();
  }

  private void schedulePassEnd() {
    if (!passEndScheduled) {
      passEndScheduled = true;
      context.runOnContext(v -> endOfPass());
    }
  }

  private void endOfPass() {
    try {
      batch.seal();
    } finally {
      passEndScheduled = false;
      startRound();
    }
  }

  /** Flushes the dirty sockets in slices; one round at a time (a running one picks up the rest when it ends). */
  private void startRound() {
    if (!round.isEmpty() || dirty.isEmpty()) {
      return;
    }
    round.addAll(dirty);
    dirty.clear();
    roundNext = 0;
    flushSlice();
  }

  /** A due slice: first the tasks queued ahead of it, at most {@link #SLICE_DEFERRALS} times. */
  private void nextSlice() {
    if (deferrals < SLICE_DEFERRALS && context.eventLoop() instanceof SingleThreadEventExecutor loop
        && loop.pendingTasks() > 0) {
      deferrals++;
      loop.execute(this::nextSlice);
      return;
    }
    deferrals = 0;
    flushSlice();
  }

  private void flushSlice() {
    // What arrived since the last slice goes onto every subscriber's queue first, so the
    // sockets still to flush in this round carry it too.
    batch.seal();
    int slice = Math.max(FLUSH_SLICE, (round.size() + SLICES_PER_ROUND - 1) / SLICES_PER_ROUND);
    int end = Math.min(roundNext + slice, round.size());
    for (int i = roundNext; i < end; i++) {
      round.get(i).flushRound();
    }
    roundNext = end;
    if (roundNext < round.size()) {
      context.eventLoop().schedule(this::nextSlice, 1, java.util.concurrent.TimeUnit.NANOSECONDS);
      return;
    }
    round.clear();
    startRound(); // sockets written again while the round ran (the ones it had already flushed)
  }
}
