package io.webrocket.presence;

import io.webrocket.config.PresenceSettings;
import io.webrocket.protocol.Frame;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One node's presence announcements, put back in each channel's order before its endpoints see
 * them. Announcements are published by whichever node made the change, so two of them can reach
 * a node in either order; each carries its channel's sequence number ({@link PresenceMembers}),
 * and this node forwards them to its endpoints strictly in that order, each once.
 *
 * <p>A channel is followed while this node has members on it or joins under way; its first
 * number comes from the first join's answer (the state as of which its list was made). Numbers
 * below it are in the joiner's list already and are dropped. A gap (an announcement lost with the
 * node that made the change, which died between the change and its publish) is waited for
 * {@code presence.gapMs}, then skipped. Announcements forwarded while a join of this node is under way
 * are kept until its answer: the ones numbered after the joiner's list were missed by it (its
 * socket was not subscribed yet) and are handed to it with the answer ({@link #joined}).
 *
 * <p>Plain state, confined to the {@link PresenceService}'s event loop; bounded per channel by
 * {@code presence.heldPerChannel} (beyond it the oldest gap is skipped, or the oldest kept
 * announcement dropped). What is held, and what a bound dropped or skipped, is counted
 * ({@link #held}, {@link Counts}) for {@code /metrics}.
 */
final class PresenceStreams {
  /** Where the bounds' losses are counted (the node's meters; a no-op in unit tests). */
  interface Counts {
    /** An announcement dropped: over {@code heldPerChannel} (reason {@code heldPerChannel}). */
    void dropped(String reason);

    /** A gap stepped over: waited out ({@code gapMs}) or pushed out by the bound ({@code heldPerChannel}). */
    void skipped(String reason);

    Counts NONE = new Counts() {
      @Override
      public void dropped(String reason) {}

      @Override
      public void skipped(String reason) {}
    };
  }

  /** How long a missing announcement is waited for before the ones after it go on. */
  private long gapMs;
  /** Announcements held per channel, out of order or kept for a join under way. */
  private int maxHeld;
  private final Counts counts;
  /** Announcements held now, all channels together (out of order, or kept for joins); one writer, read by /metrics. */
  private volatile long held;

  /** Where announcements go once in order: the node's endpoints. */
  interface Forward {
    void forward(String key, long seq, Frame frame);
  }

  private record Held(long seq, Frame frame) {}

  /**
   * A joiner answered as of {@code since} whose answer waits for the numbers up to {@code until}
   * (where this node's stream started), from {@code waitingSince} (ms) on.
   */
  private record Waiting(long since, long until, long waitingSince, java.util.function.Consumer<SortedMap<Long, Frame>> answer) {}

  private static final class Stream {
    /** Members this node added and has not seen leave. */
    int members;
    /** Joins of this node under way. */
    int pending;
    /** The number forwarded next; -1 until the first join's answer says where to start. */
    long next = -1;
    /** Arrived ahead of {@link #next}. */
    final TreeMap<Long, Frame> early = new TreeMap<>();
    /** When the gap before {@code early}'s first number was first seen (0: no gap). */
    long gapSince;
    /**
     * Kept while {@link #pending} > 0, for the joins under way: what was forwarded, and what
     * arrived numbered before {@link #next} (see {@link #joined}).
     */
    final ArrayDeque<Held> recent = new ArrayDeque<>();
    /** Joins answered as of a list older than {@link #next}, waiting for what came between (see {@link #joined}). */
    final List<Waiting> waiting = new ArrayList<>();
  }

  private final Forward out;
  private final Map<String, Stream> streams = new HashMap<>();
  private long gapsSkipped;

  PresenceStreams(Forward out, PresenceSettings settings, Counts counts) {
    this.out = out;
    this.counts = counts;
    apply(settings);
  }

  /** A (re)loaded {@code presence} section: what is held beyond a lowered bound goes at the next arrival. */
  void apply(PresenceSettings settings) {
    gapMs = settings.gapMs();
    maxHeld = settings.heldPerChannel();
  }

  long gapMs() {
    return gapMs;
  }

  /** Announcements held now on this node, all channels together. */
  long held() {
    return held;
  }

  /** A join of this node to channel {@code key} is under way. */
  void joining(String key) {
    streams.computeIfAbsent(key, k -> new Stream()).pending++;
  }

  /**
   * A join of this node was answered: its list is as of {@code since} (with a visible member
   * added, its own announcement is {@code since}). {@code answer} gets the announcements after
   * {@code since} already forwarded (or kept), which the joiner missed, by number; call
   * {@link #drain} after the answer has gone to the endpoint.
   *
   * <p>A joiner whose list is older than where this node's stream started (two joins of this
   * node answered in the other order than the grid made them) also needs every number between
   * its list and that start, and those are never forwarded: they are kept while a join is under
   * way. One that has not arrived yet would be lost to it, and one after it given first (a CI run
   * saw a member miss four joins so), so its answer waits until they have all come, or for
   * {@code presence.gapMs} (a number lost with a node that died), and holds them in order.
   */
  void joined(String key, long since, boolean announced, boolean added, long now,
      java.util.function.Consumer<SortedMap<Long, Frame>> answer) {
    Stream s = streams.get(key);
    if (s == null) {
      answer.accept(new TreeMap<>());
      return;
    }
    if (added) {
      s.members++;
    }
    if (s.next < 0) {
      // The first of this node: its own announcement (if any) goes to this node's other joiners.
      // What came before that number is in this joiner's list; it is not forwarded, but a join
      // still under way may have been answered as of an older number (two joins of this node
      // answered out of order) and missed it: kept for those until no join is under way.
      s.next = announced ? since : since + 1;
      var stale = s.early.headMap(s.next);
      held -= stale.size();
      if (s.pending > 1) {
        stale.forEach((seq, frame) -> keepForJoins(s, seq, frame));
      }
      stale.clear();
    }
    Waiting w = new Waiting(since, s.next, now, answer);
    if (hasAllBefore(s, w)) {
      answer(key, s, w);
    } else {
      s.waiting.add(w);
    }
  }

  /** As above, for a join answered at once (tests): the missed announcements, or null if it waits. */
  SortedMap<Long, Frame> joined(String key, long since, boolean announced, boolean added) {
    List<SortedMap<Long, Frame>> got = new ArrayList<>();
    joined(key, since, announced, added, 0, got::add);
    return got.isEmpty() ? null : got.get(0);
  }

  /** Every number between the joiner's list and where this node's stream started is kept. */
  private static boolean hasAllBefore(Stream s, Waiting w) {
    if (w.until() - w.since() <= 1) {
      return true;
    }
    java.util.Set<Long> kept = new java.util.HashSet<>();
    for (Held h : s.recent) {
      kept.add(h.seq());
    }
    for (long n = w.since() + 1; n < w.until(); n++) {
      if (!kept.contains(n)) {
        return false;
      }
    }
    return true;
  }

  /** Answers {@code w}: in number order, each once, what was forwarded or kept after its list. */
  private void answer(String key, Stream s, Waiting w) {
    s.pending--;
    TreeMap<Long, Frame> after = new TreeMap<>();
    for (Held h : s.recent) {
      if (h.seq() > w.since()) {
        after.putIfAbsent(h.seq(), h.frame());
      }
    }
    if (s.pending == 0) {
      clearRecent(s);
    }
    forgetIfIdle(key, s);
    w.answer().accept(after);
  }

  /** Answers the waiting joins that have all they need, or have waited {@code gapMs} (the rest counted as skipped). */
  private void answerWaiting(String key, Stream s, long now) {
    if (s.waiting.isEmpty()) {
      return;
    }
    List<Waiting> ready = new ArrayList<>();
    for (var it = s.waiting.iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      boolean complete = hasAllBefore(s, w);
      if (complete || now - w.waitingSince() >= gapMs) {
        if (!complete) {
          gapsSkipped++;
          counts.skipped("gapMs");
        }
        it.remove();
        ready.add(w);
      }
    }
    ready.forEach(w -> answer(key, s, w));
  }

  /** A join of this node failed: nothing was added (or nobody will know it was). */
  void joinFailed(String key) {
    Stream s = streams.get(key);
    if (s != null) {
      s.pending--;
      if (s.pending == 0) {
        clearRecent(s);
      }
      forgetIfIdle(key, s);
    }
  }

  private void clearRecent(Stream s) {
    held -= s.recent.size();
    s.recent.clear();
  }

  /** A member this node added left. */
  void left(String key) {
    Stream s = streams.get(key);
    if (s != null) {
      s.members--;
      forgetIfIdle(key, s);
    }
  }

  /** An announcement arrived (from any node, this one included). */
  void arrived(String key, long seq, Frame frame, long now) {
    Stream s = streams.get(key);
    if (s == null) {
      return; // nobody here follows the channel
    }
    if (s.next >= 0 && seq < s.next) {
      // Before where this node's stream started: in the lists of the members answered so far,
      // but a join still under way may have been answered as of an older number.
      if (s.pending > 0) {
        keepForJoins(s, seq, frame);
        answerWaiting(key, s, now);
      }
      return;
    }
    if (s.early.put(seq, frame) == null) {
      held++;
    }
    while (s.early.size() > maxHeld) {
      if (s.next < 0) {
        s.early.pollFirstEntry();
        held--;
        counts.dropped("heldPerChannel");
      } else {
        skipGap(s, "heldPerChannel");
        drain(key, now);
      }
    }
    drain(key, now);
  }

  /** Forwards what is in order. */
  void drain(String key, long now) {
    Stream s = streams.get(key);
    if (s == null || s.next < 0) {
      return;
    }
    while (!s.early.isEmpty() && s.early.firstKey() == s.next) {
      Frame f = s.early.pollFirstEntry().getValue();
      held--;
      forward(key, s, s.next, f);
      s.next++;
    }
    s.gapSince = s.early.isEmpty() ? 0 : s.gapSince == 0 ? now : s.gapSince;
  }

  private void forward(String key, Stream s, long seq, Frame f) {
    out.forward(key, seq, f);
    if (s.pending > 0) {
      keepForJoins(s, seq, f);
    }
  }

  /** Kept until no join of this node is under way: a joiner answered later may have missed it. */
  private void keepForJoins(Stream s, long seq, Frame f) {
    s.recent.addLast(new Held(seq, f));
    held++;
    while (s.recent.size() > maxHeld) {
      s.recent.pollFirst();
      held--;
      counts.dropped("heldPerChannel");
    }
  }

  /** Skips gaps older than {@code presence.gapMs}. */
  void tick(long now) {
    for (Map.Entry<String, Stream> e : streams.entrySet()) {
      Stream s = e.getValue();
      if (s.next >= 0 && s.gapSince != 0 && now - s.gapSince >= gapMs) {
        skipGap(s, "gapMs");
        drain(e.getKey(), now);
      }
    }
    // Answers may forget a stream: not while iterating the streams.
    List<String> waiting = new ArrayList<>();
    streams.forEach((key, s) -> {
      if (!s.waiting.isEmpty()) {
        waiting.add(key);
      }
    });
    for (String key : waiting) {
      Stream s = streams.get(key);
      if (s != null) {
        answerWaiting(key, s, now);
      }
    }
  }

  private void skipGap(Stream s, String reason) {
    if (!s.early.isEmpty()) {
      s.next = s.early.firstKey();
      s.gapSince = 0;
      gapsSkipped++;
      counts.skipped(reason);
    }
  }

  /** Gaps skipped so far (announcements that never came). */
  long gapsSkipped() {
    return gapsSkipped;
  }

  /** The channel is gone (closed): nothing of it is followed any more. */
  void drop(String key) {
    Stream s = streams.remove(key);
    if (s != null) {
      held -= s.early.size() + s.recent.size();
      answerGone(s);
    }
  }

  /** The channel is gone: its waiting joins are answered with nothing more (its members are dropped anyway). */
  private static void answerGone(Stream s) {
    List<Waiting> waiting = new ArrayList<>(s.waiting);
    s.waiting.clear();
    waiting.forEach(w -> w.answer().accept(new TreeMap<>()));
  }

  /** The vhost is gone. */
  void dropVhost(String vhost) {
    List<Stream> gone = new ArrayList<>();
    streams.entrySet().removeIf(e -> {
      if (!PresenceGrid.vhostOf(e.getKey()).equals(vhost)) {
        return false;
      }
      held -= e.getValue().early.size() + e.getValue().recent.size();
      gone.add(e.getValue());
      return true;
    });
    gone.forEach(PresenceStreams::answerGone);
  }

  /** Channels followed (for tests and metrics). */
  int followed() {
    return streams.size();
  }

  private void forgetIfIdle(String key, Stream s) {
    if (s.members <= 0 && s.pending <= 0) {
      streams.remove(key);
      held -= s.early.size() + s.recent.size();
    }
  }
}
