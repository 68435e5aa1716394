package io.webrocket.frontend;

import io.webrocket.protocol.Frame;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The presence announcements that reach one endpoint instance while joins of its sockets to that
 * channel are under way, so that a joiner gets the ones its answer came too late for.
 *
 * <p>Why: a join's answer (a reply to the socket's request) and the announcements the node's
 * presence service forwards after it (a fan-out message) are two event-bus consumers of the
 * same event loop, and a consumer's queue drains everything it holds when its turn comes: an
 * announcement forwarded after the answer can be handed to the endpoint before it, while the
 * joining socket is not a subscriber yet, and was lost for it ({@code PresenceClusterCases}
 * saw a member miss the next join in a CI run). What arrives between the request and the answer
 * is kept here, with its number, and the joiner takes what is newer than its list and than the
 * missed announcements its answer carries ({@link #end}).
 *
 * <p>Bounded per channel by {@code presence.heldPerChannel}: beyond it the oldest is dropped
 * (counted in {@code webrocket_presence_dropped_total{reason="heldPerChannel"}}). Kept only while
 * a join of the channel is under way on this instance. Confined to the instance's event loop.
 */
final class PresenceJoins {
  /** A join under way: where its window starts. */
  record Start(String key, long position) {}

  /** An announcement and its channel's sequence number. */
  record Numbered(long seq, Frame frame) {}

  private static final class Channel {
    int pending;
    /** Announcements appended so far (the position of the next one). */
    long appended;
    final ArrayDeque<Numbered> kept = new ArrayDeque<>();
  }

  private final Map<String, Channel> channels = new HashMap<>();
  /** Counts an announcement dropped by the bound. */
  private final Runnable dropped;
  private int maxKept;
  private long held;

  PresenceJoins(int maxKept, Runnable dropped) {
    this.maxKept = maxKept;
    this.dropped = dropped;
  }

  /** The live bound ({@code presence.heldPerChannel}); what is over it goes at the next arrival. */
  void bound(int maxKept) {
    this.maxKept = maxKept;
  }

  private static String key(String vhost, String channel) {
    return vhost + '\n' + channel;
  }

  /** A socket of this instance asks to join {@code channel}: what arrives from now on is kept for it. */
  Start begin(String vhost, String channel) {
    String key = key(vhost, channel);
    Channel c = channels.computeIfAbsent(key, k -> new Channel());
    c.pending++;
    return new Start(key, c.appended);
  }

  /** An announcement reached this instance: kept if a join of its channel is under way. */
  void seen(String vhost, String channel, long seq, Frame frame) {
    if (channels.isEmpty()) {
      return; // the common case: no join under way, and no key to build
    }
    Channel c = channels.get(key(vhost, channel));
    if (c == null) {
      return;
    }
    c.kept.addLast(new Numbered(seq, frame));
    c.appended++;
    held++;
    while (c.kept.size() > maxKept) {
      c.kept.pollFirst();
      held--;
      dropped.run();
    }
  }

  /** The join that {@code start} began was answered (or failed): what arrived since, in order; its window ends. */
  List<Numbered> end(Start start) {
    Channel c = channels.get(start.key());
    if (c == null) {
      return List.of();
    }
    long first = c.appended - c.kept.size();
    List<Numbered> out = new ArrayList<>();
    long position = first;
    for (Numbered n : c.kept) {
      if (position++ >= start.position()) {
        out.add(n);
      }
    }
    if (--c.pending == 0) {
      held -= c.kept.size();
      channels.remove(start.key());
    }
    return out;
  }

  /** Announcements kept now, all channels together (for tests and {@code /metrics}). */
  long held() {
    return held;
  }

  /** Channels with a join under way (for tests). */
  int channels() {
    return channels.size();
  }
}
