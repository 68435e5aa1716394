package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.webrocket.history.ChannelHistory.Entry;
import io.webrocket.history.ChannelHistory.Page;
import io.webrocket.history.Histories;
import io.webrocket.history.HistorySettings.Policy;
import io.webrocket.history.OffsetFrames;
import io.webrocket.protocol.Frame;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The channels with history of one WebSocket endpoint instance: their events reach the local
 * subscribers in offset order, with no gap and no duplicate, and subscribers join (or recover)
 * at an exact offset. Confined to the instance's event loop.
 *
 * <p><b>Order.</b> Events of one channel may come from several nodes, so they may arrive out of
 * offset order. A {@link Stream} delivers offset {@code next} and holds later ones (at most
 * {@code history.heldPerChannel}); a gap still open after {@code history.reorderWindowMs} (its
 * sender died between append and publish, or is slow) is filled from the history. An offset
 * the history no longer holds is stepped over, and the live subscribers get a gap notice.
 *
 * <p><b>Joining.</b> A subscriber of a channel with history joins at a cursor: the last offset
 * it has (its {@code since}, or the channel's top for a fresh subscribe). It is not a live
 * subscriber until its cursor meets the stream: the events between are written to it from the
 * history, page by page (bounded memory, and not faster than the socket takes them); when its
 * cursor is {@code next - 1} it joins the live set, in the same event-loop task, so the next
 * event it gets is {@code cursor + 1}. Nothing is buffered per recovering subscriber: live
 * events it has not reached yet are read back from the history.
 *
 * <p><b>Gap notices.</b> An event of a channel with history dropped for a slow consumer is
 * remembered per socket and channel (its first missing offset; at most one entry per
 * subscribed channel), and the socket's next event on that channel is preceded by
 * {@code {":gap": {"channel", "offset", "epoch"}}}.
 */
final class HistoryStreams {
  /** A client's {@code since}: it has every event up to {@code offset} of {@code epoch}. */
  record Since(long offset, String epoch) {}

  /** A subscribe's position read: where the channel's history stood, and where the client joins. */
  record Position(Policy policy, Since since, Page page, boolean recovered, long cursor) {
    /** The extension keys of {@code :subscribed}. */
    void describe(JsonObject subscribed) {
      subscribed.put("offset", cursor).put("epoch", page.epoch());
      if (since != null) {
        subscribed.put("recovered", recovered);
      }
    }
  }

  private final io.vertx.core.Vertx vertx;
  /** The endpoint instance's subscriber index and writer: the streams write into the same pass batch. */
  private final LocalSubscribers subscribers;
  private final Outbound outbound;
  private final Histories histories;
  private final Map<String, Stream> streams = new HashMap<>();

  private final class Stream {
    final String vhost;
    final String channel;
    String epoch;
    /** The next offset to deliver; -1 until a position read or a first event sets it. */
    long next = -1;
    final TreeMap<Long, Frame> held = new TreeMap<>();
    long timer = -1;
    boolean filling;
    int reading;
    /** Subscribers whose cursor is ahead of the stream: they join when it gets there. */
    final Map<BrowserConnection, Joiner> joining = new HashMap<>();
    /** Subscribers catching up from the history (not live yet): the stream stays while they do. */
    final java.util.Set<Joiner> catching = new java.util.HashSet<>();

    Stream(String vhost, String channel) {
      this.vhost = vhost;
      this.channel = channel;
    }
  }

  private final class Joiner {
    final BrowserConnection conn;
    final Stream stream;
    final Policy policy;
    long cursor;
    ArrayDeque<Entry> pending = new ArrayDeque<>();

    Joiner(BrowserConnection conn, Stream stream, Policy policy, long cursor) {
      this.conn = conn;
      this.stream = stream;
      this.policy = policy;
      this.cursor = cursor;
    }
  }

  HistoryStreams(io.vertx.core.Vertx vertx, LocalSubscribers subscribers, Outbound outbound, Histories histories) {
    this.vertx = vertx;
    this.subscribers = subscribers;
    this.outbound = outbound;
    this.histories = histories;
  }

  Histories histories() {
    return histories;
  }

  private static String key(String vhost, String channel) {
    return vhost + "\n" + channel;
  }

  // ---- live events ----

  /** An event of a channel with history, from any node. */
  void onFrame(String vhost, String channel, long offset, String epoch, Frame frame) {
    String k = key(vhost, channel);
    Stream s = streams.get(k);
    boolean listeners = !subscribers.subscribers(vhost, channel).isEmpty();
    if (s == null) {
      if (!listeners) {
        return;
      }
      // Subscribers from before the channel had history (a reload): the stream starts here.
      s = new Stream(vhost, channel);
      s.epoch = epoch;
      s.next = offset;
      streams.put(k, s);
    } else if (!listeners && s.joining.isEmpty() && s.catching.isEmpty() && s.reading == 0) {
      forget(k, s);
      return;
    }
    if (s.epoch == null) {
      s.epoch = epoch;
    } else if (!s.epoch.equals(epoch)) {
      reset(s, epoch);
    }
    if (s.next < 0 || offset > s.next) {
      hold(s, offset, frame);
      return;
    }
    if (offset < s.next) {
      return; // delivered already, or older than what this instance's subscribers joined at
    }
    emit(s, offset, frame);
    drain(s);
  }

  private void forget(String k, Stream s) {
    streams.remove(k);
    if (s.timer >= 0) {
      vertx.cancelTimer(s.timer);
    }
  }

  /** A channel was closed: its streams go with its subscribers. */
  void channelClosed(String vhost, String channel) {
    Stream s = streams.get(key(vhost, channel));
    if (s != null) {
      forget(key(vhost, channel), s);
    }
  }

  private void hold(Stream s, long offset, Frame frame) {
    histories.metrics().held();
    if (s.held.size() >= histories.settings().heldPerChannel()) {
      if (s.next >= 0) {
        fill(s); // too far behind to wait: fetch what is missing now
      }
      Long last = s.held.lastKey();
      if (offset > last) {
        return; // the history has it; the fill that follows fetches it
      }
      s.held.remove(last);
    }
    s.held.put(offset, frame);
    armTimer(s);
  }

  /** A gap waits at most the reorder window, then is filled from the history. */
  private void armTimer(Stream s) {
    if (s.next >= 0 && s.timer < 0 && !s.filling && !s.held.isEmpty()) {
      s.timer = vertx.setTimer(histories.settings().reorderWindowMs(), t -> {
        s.timer = -1;
        fill(s);
      });
    }
  }

  private void emit(Stream s, long offset, Frame frame) {
    outbound.fanout(s.vhost, s.channel, frame, offset);
    s.next = offset + 1;
    if (!s.joining.isEmpty()) {
      for (Joiner j : s.joining.values().toArray(new Joiner[0])) {
        if (j.cursor == offset) {
          s.joining.remove(j.conn);
          live(j);
        }
      }
    }
  }

  /** Delivers the held events that are now next. */
  private void drain(Stream s) {
    while (!s.held.isEmpty() && s.held.firstKey() <= s.next) {
      Map.Entry<Long, Frame> e = s.held.pollFirstEntry();
      if (e.getKey() == s.next) {
        emit(s, e.getKey(), e.getValue());
      }
    }
    if (s.held.isEmpty() && s.timer >= 0) {
      vertx.cancelTimer(s.timer);
      s.timer = -1;
    }
  }

  /** Fetches the events missing before the first held one from the history, in order. */
  private void fill(Stream s) {
    if (s.filling || s.next < 0 || s.held.isEmpty()) {
      return;
    }
    Policy policy = histories.policy(s.vhost, s.channel);
    if (policy == null) {
      // The channel stopped keeping history (a reload): what is held goes out as it is.
      skipTo(s, s.held.firstKey());
      drain(s);
      return;
    }
    s.filling = true;
    long from = s.next;
    int want = (int) Math.min(s.held.firstKey() - from, histories.settings().replayPage());
    histories.store().read(s.vhost, s.channel, policy, from - 1, want).onComplete(r -> {
      s.filling = false;
      if (streams.get(key(s.vhost, s.channel)) != s) {
        return; // forgotten meanwhile
      }
      if (s.next != from) {
        armTimer(s); // moved on meanwhile: what is still missing waits its window again
        return;
      }
      if (r.succeeded() && r.result().epoch().equals(s.epoch)) {
        Page page = r.result();
        int filled = 0;
        for (Entry e : page.entries()) {
          if (e.offset() == s.next) {
            emit(s, e.offset(), OffsetFrames.frame(e.body(), e.offset()));
            filled++;
          }
        }
        histories.metrics().filled(filled);
        if (filled == 0 && !s.held.isEmpty()) {
          // Not in the history (any more): those events are lost for this node's subscribers.
          skipTo(s, s.held.firstKey());
        }
      } else if (!s.held.isEmpty()) {
        skipTo(s, s.held.firstKey());
      }
      drain(s);
      if (!s.held.isEmpty()) {
        fill(s);
      }
    });
  }

  /** Steps over offsets that cannot be had: every live subscriber is told which it missed. */
  private void skipTo(Stream s, long offset) {
    if (offset <= s.next) {
      return;
    }
    histories.metrics().skipped(offset - s.next);
    for (BrowserConnection c : subscribers.subscribers(s.vhost, s.channel)) {
      c.historyGaps().missed(s.channel, s.next, s.epoch);
    }
    long from = s.next;
    s.next = offset;
    // Joiners waiting for an offset that was stepped over catch up from the history instead.
    for (Joiner j : s.joining.values().toArray(new Joiner[0])) {
      if (j.cursor >= from - 1 && j.cursor < offset - 1) {
        s.joining.remove(j.conn);
        serve(j);
      }
    }
  }

  /** The history started again (a new epoch): live subscribers are told what they lost. */
  private void reset(Stream s, String epoch) {
    for (BrowserConnection c : subscribers.subscribers(s.vhost, s.channel)) {
      c.historyGaps().missed(s.channel, s.next, s.epoch);
    }
    s.epoch = epoch;
    s.held.clear();
    s.next = s.next < 0 ? -1 : 1;
    for (Joiner j : s.joining.values().toArray(new Joiner[0])) {
      s.joining.remove(j.conn);
      j.cursor = 0;
      j.pending.clear();
      serve(j);
    }
  }

  // ---- joining ----

  /**
   * Reads where the channel's history stands (and, with {@code since}, the first page after it)
   * for a subscribe. Meanwhile the instance holds the channel's events, so none is missed
   * between the read and the join.
   */
  Future<Position> position(String vhost, String channel, Policy policy, Since since) {
    String k = key(vhost, channel);
    Stream s = streams.computeIfAbsent(k, x -> new Stream(vhost, channel));
    s.reading++;
    long after = since != null ? since.offset() : Long.MAX_VALUE;
    int limit = since != null ? histories.settings().replayPage() : 0;
    return histories.store().read(vhost, channel, policy, after, limit).map(page -> {
      boolean recovered = since != null && page.continues(since.epoch(), since.offset());
      long cursor = recovered ? since.offset() : page.top();
      Stream current = streams.computeIfAbsent(k, x -> s);
      current.reading = Math.max(0, current.reading - 1);
      if (current.epoch != null && !current.epoch.equals(page.epoch())) {
        reset(current, page.epoch());
      }
      if (current.next < 0) {
        current.epoch = page.epoch();
        current.next = page.top() + 1;
        drain(current);
        if (!current.held.isEmpty()) {
          fill(current);
        }
      }
      return new Position(policy, since, page, recovered, cursor);
    }).onFailure(err -> s.reading = Math.max(0, s.reading - 1));
  }

  /**
   * The subscriber goes live at its position (its {@code :subscribed} is already written): at
   * once if the stream is where it is, else after the events between are written from the history.
   */
  void attach(BrowserConnection conn, String channel, Position p) {
    String k = key(conn.vhost, channel);
    Stream s = streams.computeIfAbsent(k, x -> {
      Stream made = new Stream(conn.vhost, channel);
      made.epoch = p.page().epoch();
      made.next = p.page().top() + 1;
      return made;
    });
    conn.historyGaps().clear(channel);
    Joiner j = new Joiner(conn, s, p.policy(), p.cursor());
    s.catching.add(j);
    if (p.recovered()) {
      j.pending.addAll(p.page().entries());
    }
    serve(j);
  }

  /** A subscriber left the channel: it stops catching up. */
  void detach(BrowserConnection conn, String channel) {
    Stream s = streams.get(key(conn.vhost, channel));
    if (s != null) {
      s.joining.remove(conn);
      s.catching.removeIf(j -> j.conn == conn);
    }
  }

  private boolean wanted(Joiner j) {
    return !j.conn.closing() && j.conn.channels.contains(j.stream.channel)
        && streams.get(key(j.stream.vhost, j.stream.channel)) == j.stream;
  }

  /** One step of a joiner's catch-up: write what it has, read more, or go live. */
  private void serve(Joiner j) {
    Stream s = j.stream;
    if (!wanted(j)) {
      s.catching.remove(j);
      return;
    }
    while (!j.pending.isEmpty() && j.pending.peekFirst().offset() <= j.cursor) {
      j.pending.pollFirst();
    }
    int replayed = 0;
    while (!j.pending.isEmpty() && j.pending.peekFirst().offset() < s.next) {
      Entry e = j.pending.peekFirst();
      if (e.offset() != j.cursor + 1) {
        // The history no longer has what comes between: the client is told, and goes on.
        write(j.conn, OffsetFrames.gap(s.channel, j.cursor + 1, s.epoch));
        histories.metrics().gapNotice();
        j.cursor = e.offset() - 1;
      }
      if (!outbound.hasRoom(j.conn.wire)) {
        histories.metrics().replayed(replayed);
        vertx.setTimer(20, t -> serve(j)); // not faster than the socket takes it
        return;
      }
      write(j.conn, OffsetFrames.frame(e.body(), e.offset()));
      j.pending.pollFirst();
      j.cursor = e.offset();
      replayed++;
    }
    histories.metrics().replayed(replayed);
    if (j.cursor == s.next - 1) {
      live(j);
      return;
    }
    if (j.cursor >= s.next) {
      s.joining.put(j.conn, j);
      return;
    }
    histories.store().read(s.vhost, s.channel, j.policy, j.cursor, histories.settings().replayPage())
        .onComplete(r -> {
          if (!wanted(j)) {
            s.catching.remove(j);
            return;
          }
          if (r.succeeded() && r.result().epoch().equals(s.epoch)) {
            j.pending = new ArrayDeque<>(r.result().entries());
            while (!j.pending.isEmpty() && j.pending.peekFirst().offset() <= j.cursor) {
              j.pending.pollFirst();
            }
          } else {
            j.pending.clear();
          }
          if (j.pending.isEmpty() || j.pending.peekFirst().offset() >= s.next) {
            // Nothing more to be had from the history: the client is told, and goes live.
            write(j.conn, OffsetFrames.gap(s.channel, j.cursor + 1, s.epoch));
            histories.metrics().gapNotice();
            j.cursor = s.next - 1;
          }
          serve(j);
        });
  }

  private void live(Joiner j) {
    j.stream.catching.remove(j);
    if (wanted(j)) {
      subscribers.add(j.conn, j.stream.channel);
    }
  }

  private void write(BrowserConnection conn, Frame frame) {
    ByteBuf buf = Outbound.direct(frame);
    try {
      outbound.write(conn.wire, buf);
    } finally {
      buf.release();
    }
  }

  // ---- gap notices ----

  /** A segment of {@code channel} from {@code offset} on did not fit the socket's bound. */
  void dropped(BrowserConnection conn, String vhost, String channel, long offset) {
    Stream s = streams.get(key(vhost, channel));
    conn.historyGaps().missed(channel, offset, s == null ? "" : s.epoch);
  }

  /** Before the socket's next event on {@code channel}: the gap notice it is owed, if any (queued, not sealed). */
  void beforeEvent(BrowserConnection conn, String channel) {
    Frame notice = conn.historyGaps().take(channel);
    if (notice != null) {
      histories.metrics().gapNotice();
      ByteBuf buf = Outbound.direct(notice);
      try {
        outbound.queue(conn.wire, buf);
      } finally {
        buf.release();
      }
    }
  }
}
