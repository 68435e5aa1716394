package io.webrocket.backend;

import io.webrocket.protocol.Frame;

/**
 * A persistent connection's consecutive broadcasts to one channel, published as one event-bus
 * message: the frames back to back, which is what every subscriber's socket gets anyway.
 *
 * <p>Why: a cluster's event bus pays per message, on the publishing node (encoding, one socket
 * write per node) and on each receiving node (a read, a decode, a dispatch to each endpoint
 * instance); a connection pipelining {@code BC} made one message per broadcast. A pipelined
 * burst is read in one pass and its broadcasts are published (in order, by
 * {@link OrderedBroadcasts}) in the next tasks of the event loop: what they publish is gathered
 * and sent at the end of that pass, one message per run of one channel (docs/performance.md,
 * "Cross-node BC").
 *
 * <p>Order: a broadcast to another channel (or vhost) sends what is gathered first, so every
 * subscriber still gets them in the order sent, whichever channels it is on. Whoever must come
 * after the broadcasts published so far (a {@code CC} of the connection) calls {@link #send}
 * first. At most
 * {@link #MAX_BYTES} are gathered (the broadcast that would go over sends first; a larger one
 * travels alone). Confined to the connection's event loop.
 */
final class BroadcastBatch {
  /** Gathered frames per message: 64 KiB, the receiving endpoint's own segment size. */
  static final int MAX_BYTES = 64 * 1024;

  /** Publishes {@code frames}, {@code count} complete frames of one channel, once. */
  interface Publisher {
    void publish(String vhost, String channel, Frame frames, int count);
  }

  private final Publisher publisher;
  /** Runs a task after the tasks already queued on the connection's event loop: the end of the pass. */
  private final java.util.function.Consumer<Runnable> later;
  private final java.util.ArrayList<Frame> frames = new java.util.ArrayList<>();
  private String vhost;
  private String channel;
  private int length;

  BroadcastBatch(Publisher publisher, java.util.function.Consumer<Runnable> later) {
    this.publisher = publisher;
    this.later = later;
  }

  /** Adds a frame for (vhost, channel); what was gathered for another channel leaves first. */
  void add(String vhost, String channel, Frame frame) {
    int len = frame.wire().length;
    if (!frames.isEmpty() && (!channel.equals(this.channel) || !vhost.equals(this.vhost) || length + len > MAX_BYTES)) {
      send();
    }
    if (frames.isEmpty()) {
      later.accept(this::send);
    }
    this.vhost = vhost;
    this.channel = channel;
    frames.add(frame);
    length += len;
  }

  /** Publishes what is gathered, if anything: one frame as it is, several copied back to back once. */
  void send() {
    if (frames.isEmpty()) {
      return;
    }
    Frame out;
    if (frames.size() == 1) {
      out = frames.get(0);
    } else {
      byte[] wire = new byte[length];
      int at = 0;
      for (Frame f : frames) {
        System.arraycopy(f.wire(), 0, wire, at, f.wire().length);
        at += f.wire().length;
      }
      out = new Frame(wire);
    }
    int n = frames.size();
    frames.clear();
    length = 0;
    publisher.publish(vhost, channel, out, n);
  }
}
