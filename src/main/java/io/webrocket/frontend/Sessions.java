package io.webrocket.frontend;

import io.micrometer.core.instrument.Counter;
import io.webrocket.config.LimitsSettings;
import io.webrocket.metrics.Metrics;
import java.util.HashMap;
import java.util.Map;

/**
 * The WWFP sessions of one endpoint instance, as they see their instance: who is subscribed to
 * what ({@link LocalSubscribers}), the live limits, the meters, and where a session reports its
 * end (its connection place is given back to {@link Admission}). Confined to the instance's
 * event loop.
 */
final class Sessions {
  private final LocalSubscribers subscribers;
  private final Admission admission;
  private final Metrics metrics;
  /** Channels with history: offset order, joining at an offset, gap notices. */
  private final HistoryStreams historyStreams;
  /** Appends a broadcast of a channel with history, then publishes it with its offset. */
  private final io.webrocket.history.HistoryAppender historyAppender;
  /** Presence announcements kept for the joins under way (see {@link PresenceJoins}). */
  private final PresenceJoins presenceJoins;
  /** Hot-path counters per vhost: Micrometer lookups allocate. */
  private final Map<String, Counter> broadcasts = new HashMap<>();
  private final Map<String, Counter> pongsDropped = new HashMap<>();
  private final Map<String, Counter> readsPaused = new HashMap<>();
  /** Read by every session on every message: swapped whole on reload, never parsed there. */
  private volatile LimitsSettings limits;
  private int maxFrameSize;

  Sessions(LocalSubscribers subscribers, Admission admission, Metrics metrics, HistoryStreams historyStreams,
      io.webrocket.history.HistoryAppender historyAppender, PresenceJoins presenceJoins) {
    this.presenceJoins = presenceJoins;
    this.historyStreams = historyStreams;
    this.historyAppender = historyAppender;
    this.subscribers = subscribers;
    this.admission = admission;
    this.metrics = metrics;
  }

  /** The live settings: the {@code limits} section, and the effective {@code websocket.maxFrameSize}. */
  void configure(LimitsSettings limits, int maxFrameSize) {
    this.limits = limits;
    this.maxFrameSize = maxFrameSize;
  }

  LimitsSettings limits() {
    return limits;
  }

  int maxFrameSize() {
    return maxFrameSize;
  }

  HistoryStreams historyStreams() {
    return historyStreams;
  }

  io.webrocket.history.HistoryAppender historyAppender() {
    return historyAppender;
  }

  PresenceJoins presenceJoins() {
    return presenceJoins;
  }

  LocalSubscribers subscribers() {
    return subscribers;
  }

  Metrics metrics() {
    return metrics;
  }

  /** A request refused by a bound; {@code limit} is one of the fixed names of {@link Metrics#websocketRefused}. */
  void refused(String limit) {
    metrics.websocketRefused(limit).increment();
  }

  /** A socket closed for a bound; {@code reason} is one of the fixed names of {@link Metrics#websocketPolicyCloses}. */
  void policyClose(String reason) {
    metrics.websocketPolicyCloses(reason).increment();
  }

  Counter broadcasts(String vhost) {
    return broadcasts.computeIfAbsent(vhost, v -> metrics.broadcasts(v, "browser"));
  }

  /** A pong to one of {@code vhost}'s sockets did not fit its outbound bound. */
  void pongDropped(String vhost) {
    pongsDropped.computeIfAbsent(vhost, metrics::pongsDropped).increment();
  }

  /** A reply left one of {@code vhost}'s sockets over its outbound bound: its reads pause. */
  void readsPaused(String vhost) {
    readsPaused.computeIfAbsent(vhost, metrics::readsPaused).increment();
  }

  /** The session's upgrade is answered: it is one of the vhost's connections. */
  void opened(BrowserConnection conn) {
    subscribers.connected(conn);
  }

  /** The session ended (it has left its channels): its connection place is free again. */
  void closed(BrowserConnection conn) {
    subscribers.disconnected(conn);
    admission.release(conn.vhost);
  }
}
