package io.webrocket.backend;

import io.webrocket.protocol.Frame;
import java.util.function.Consumer;

/**
 * A persistent connection's consecutive broadcasts to one channel, published as one event-bus
 * message: their frames back to back, which is what every subscriber's socket gets anyway.
 *
 * <p>Why: the event bus pays per message, on the publishing node (a message, its headers, in a
 * cluster its encoding and one socket write per other node from a loop that does not own that
 * socket) and on each receiving node (a read, a decode, a dispatch). A connection pipelining
 * {@code BC} made one message per broadcast; a profile of the cross-node {@code BC} found that
 * per-message cost to be most of every node's CPU (docs/cluster-benchmark.md). A pipelined burst
 * is read in one pass and its broadcasts are published, in order ({@link OrderedBroadcasts}), by
 * the next tasks of the event loop: what they publish gathers here and leaves at the end of that
 * pass, one message per run of one channel.
 *
 * <p>Order: a broadcast to another channel (or vhost) sends what is gathered first, so a
 * subscriber of both still gets them in the order sent. Whatever must come after the broadcasts
 * published so far (a {@code CC}, a broadcast with history) calls {@link #send} first, and so
 * does the connection's reply flush ({@code WbpOutbound}): a client never holds a {@code 204}
 * for a broadcast that is not on the bus yet.
 *
 * <p>Bound: at most {@link #MAX_FRAMES} frames and {@link #MAX_BYTES} bytes are gathered (the
 * frame that would go over either sends what is gathered first; a larger single frame travels
 * alone), and nothing outlives the pass. The bounds are constants, not settings: a peer cannot
 * make the broker hold more than one batch per connection, and the connection's own pipelining
 * bound ({@code backend.maxPipelined}) already limits what it can have in flight.
 *
 * <p>Confined to the connection's event loop.
 */
final class BroadcastBatch {
  /** Bytes of frames per message: 64 KiB, the receiving endpoint's own segment bound. */
  static final int MAX_BYTES = 64 * 1024;
  /** Frames per message. */
  static final int MAX_FRAMES = 256;
  /** The gathering buffer is kept between passes up to this size, dropped above it. */
  private static final int KEPT_BYTES = 4096;

  /** Publishes {@code frames}, {@code count} complete frames of one channel back to back, once. */
  interface Publisher {
    void publish(String vhost, String channel, Frame frames, int count);
  }

  private final Publisher publisher;
  /** Runs a task after the tasks already queued on the connection's event loop: the end of the pass. */
  private final Consumer<Runnable> later;
  private String vhost;
  private String channel;
  /** The first frame as it is (a batch of one is published without a copy). */
  private Frame first;
  /** From the second frame on: every frame so far, back to back. */
  private byte[] joined;
  private int length;
  private int count;
  private boolean sendScheduled;

  BroadcastBatch(Publisher publisher, Consumer<Runnable> later) {
    this.publisher = publisher;
    this.later = later;
  }

  /** Adds a frame for (vhost, channel); what was gathered for another channel, or up to a bound, leaves first. */
  void add(String vhost, String channel, Frame frame) {
    int len = frame.wire().length;
    if (count > 0 && (count == MAX_FRAMES || length + len > MAX_BYTES
        || !channel.equals(this.channel) || !vhost.equals(this.vhost))) {
      send();
    }
    if (count == 0) {
      this.vhost = vhost;
      this.channel = channel;
      first = frame;
    } else {
      if (joined == null || joined.length < length + len) {
        // Grows by doubling (at most MAX_BYTES, or one frame): each byte is copied O(1) times.
        byte[] grown = new byte[Math.max(length + len, Math.min(MAX_BYTES, Math.max(1024, 2 * (length + len))))];
        if (count == 1) {
          System.arraycopy(first.wire(), 0, grown, 0, length);
        } else {
          System.arraycopy(joined, 0, grown, 0, length);
        }
        joined = grown;
      } else if (count == 1) {
        System.arraycopy(first.wire(), 0, joined, 0, length);
      }
      System.arraycopy(frame.wire(), 0, joined, length, len);
    }
    length += len;
    count++;
    if (!sendScheduled) {
      sendScheduled = true;
      later.accept(this::endOfPass);
    }
  }

  /** Frames gathered and not sent yet. */
  int pending() {
    return count;
  }

  private void endOfPass() {
    sendScheduled = false;
    send();
  }

  /** Publishes what is gathered, if anything: one frame as it is, several as one copy. */
  void send() {
    if (count == 0) {
      return;
    }
    Frame out = count == 1 ? first : new Frame(java.util.Arrays.copyOf(joined, length));
    int n = count;
    first = null;
    count = 0;
    length = 0;
    if (joined != null && joined.length > KEPT_BYTES) {
      joined = null; // an idle connection keeps no 64 KiB around
    }
    publisher.publish(vhost, channel, out, n);
  }
}
