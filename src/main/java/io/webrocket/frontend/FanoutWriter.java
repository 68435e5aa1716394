package io.webrocket.frontend;

import io.micrometer.core.instrument.Counter;
import io.netty.buffer.ByteBuf;
import io.vertx.core.eventbus.Message;
import io.webrocket.bus.Addresses;
import io.webrocket.metrics.Metrics;
import io.webrocket.protocol.Frame;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes the fan-out messages that reach one endpoint instance to its local subscribers: each
 * frame, encoded once by its sender, joins the pass's batch ({@link FanoutBatch}) and is written
 * with the rest of its channel's segment to every subscriber's socket through {@link Outbound}.
 * A subscriber over its outbound bound loses the segment's messages (counted). Confined to the
 * instance's event loop.
 */
final class FanoutWriter {
  private final LocalSubscribers subscribers;
  private final Outbound outbound;
  private final Metrics metrics;
  /** Channels with history (set once at start, before the first message). */
  private HistoryStreams historyStreams;
  /** Presence joins under way on this instance (set once at start, before the first message). */
  private PresenceJoins presenceJoins;
  /** Hot-path counters per vhost: Micrometer lookups allocate. */
  private final Map<String, Counter> delivered = new HashMap<>();
  private final Map<String, Counter> dropped = new HashMap<>();

  FanoutWriter(LocalSubscribers subscribers, Outbound outbound, Metrics metrics) {
    this.subscribers = subscribers;
    this.outbound = outbound;
    this.metrics = metrics;
    // The pass batch's segments are written by writeSegment; a change to a channel's
    // subscribers writes out what is pending first (see FanoutBatch).
    outbound.segmentWriter((vhost, channel, frames, messages, firstOffset) ->
        writeSegment(vhost, channel, null, frames, messages, firstOffset));
    subscribers.beforeChange(outbound::seal);
  }

  void historyStreams(HistoryStreams streams) {
    this.historyStreams = streams;
  }

  void presenceJoins(PresenceJoins joins) {
    this.presenceJoins = joins;
  }

  /**
   * A fan-out message for this instance's subscribers. It joins the pass's batch and is written
   * with the rest of its channel's segment (see {@link FanoutBatch}); one that skips a sid (a
   * presence announcement for everyone but the member) cannot share a segment, so it is written
   * on its own, after what is pending.
   */
  void deliver(Message<Frame> msg) {
    String vhost = msg.headers().get(Addresses.VHOST);
    String channel = msg.headers().get(Addresses.CHANNEL);
    String offset = msg.headers().get(Addresses.OFFSET);
    if (offset != null) {
      // A channel with history: delivered in offset order (held, or filled from the history).
      historyStreams.onFrame(vhost, channel, Long.parseLong(offset), msg.headers().get(Addresses.EPOCH), msg.body());
      return;
    }
    String seq = msg.headers().get(Addresses.SEQ);
    if (seq != null) {
      long n = Long.parseLong(seq);
      // A socket whose join is under way is no subscriber yet: it takes this with its answer.
      presenceJoins.seen(vhost, channel, n, msg.body());
      if (!subscribers.subscribers(vhost, channel).isEmpty()) {
        deliverPresence(vhost, channel, n, msg.body());
      }
      return;
    }
    if (subscribers.subscribers(vhost, channel).isEmpty()) {
      return;
    }
    String skip = msg.headers().get(Addresses.SKIP);
    if (skip == null) {
      String frames = msg.headers().get(Addresses.FRAMES);
      if (frames == null) {
        outbound.fanout(vhost, channel, msg.body());
      } else {
        outbound.fanoutRun(vhost, channel, msg.body(), Integer.parseInt(frames));
      }
      return;
    }
    outbound.seal();
    ByteBuf frame = Outbound.direct(msg.body());
    try {
      writeSegment(vhost, channel, skip, frame, 1, 0);
    } finally {
      frame.release();
    }
  }

  /**
   * A presence announcement, in its channel's order (the node's presence service ordered it):
   * written, after what is pending, to the channel's members whose list is older than it (a
   * member's own list already shows the changes up to its {@code since}).
   */
  private void deliverPresence(String vhost, String channel, long seq, Frame frame) {
    outbound.seal();
    ByteBuf buf = Outbound.direct(frame);
    int written = 0;
    int lost = 0;
    try {
      for (BrowserConnection c : subscribers.subscribers(vhost, channel)) {
        Long since = c.presenceSince.get(channel);
        if (since == null || seq <= since) {
          continue;
        }
        if (!outbound.hasRoom(c.wire)) {
          lost++;
          continue;
        }
        outbound.queue(c.wire, buf);
        written++;
      }
    } finally {
      buf.release();
    }
    delivered.computeIfAbsent(vhost, metrics::delivered).increment(written);
    if (lost > 0) {
      dropped.computeIfAbsent(vhost, metrics::dropped).increment(lost);
    }
  }

  /**
   * Writes {@code frames}, {@code messages} complete frames of one channel, to each of its
   * subscribers as of now but {@code skip}: one write per subscriber, not flushed before the end
   * of the pass. A subscriber over its outbound bound loses all of them, counted per message.
   */
  private void writeSegment(String vhost, String channel, String skip, ByteBuf frames, int messages, long firstOffset) {
    int written = 0;
    int lost = 0;
    for (BrowserConnection c : subscribers.subscribers(vhost, channel)) {
      if (skip != null && skip.equals(c.sid)) {
        continue;
      }
      BrowserSocket s = c.wire;
      if (!outbound.hasRoom(s)) {
        lost++;
        if (firstOffset > 0) {
          historyStreams.dropped(c, vhost, channel, firstOffset);
        }
        continue;
      }
      if (firstOffset > 0) {
        historyStreams.beforeEvent(c, channel);
      }
      outbound.queue(s, frames);
      written++;
    }
    delivered.computeIfAbsent(vhost, metrics::delivered).increment((double) written * messages);
    if (lost > 0) {
      dropped.computeIfAbsent(vhost, metrics::dropped).increment((double) lost * messages);
    }
  }
}
