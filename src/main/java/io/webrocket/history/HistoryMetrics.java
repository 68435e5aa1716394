package io.webrocket.history;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * History's meters on the node's registry (/metrics): {@code webrocket_history_bytes},
 * {@code _entries} and {@code _channels} (what this node keeps in its own memory; a cluster's
 * ring buffers are counted by Hazelcast, not here), and counters of appended, evicted (by
 * reason: size, lifetime, channelBytes, nodeBytes), replayed and skipped events and of gap
 * notices sent. Label values are fixed names only.
 */
public final class HistoryMetrics {
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  public HistoryMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  private Counter counter(String name, String description, String tag, String value) {
    return counters.computeIfAbsent(name + "|" + value, k -> {
      Counter.Builder b = Counter.builder(name).description(description);
      if (tag != null) {
        b.tag(tag, value);
      }
      return b.register(registry);
    });
  }

  public void appended(int n) {
    counter("webrocket.history.appended", "Events kept in a channel history", null, "").increment(n);
  }

  public void evicted(String reason, int n) {
    counter("webrocket.history.evicted", "History events dropped by a bound, by bound", "reason", reason).increment(n);
  }

  /** Events written to recovering subscribers from the history. */
  public void replayed(int n) {
    counter("webrocket.history.replayed", "History events replayed to recovering subscribers", null, "").increment(n);
  }

  /** Offsets an endpoint stepped over because the history no longer held them when it filled a gap. */
  public void skipped(long n) {
    counter("webrocket.history.skipped", "Offsets no longer in the history when a gap was filled", null, "")
        .increment(n);
  }

  public void gapNotice() {
    counter("webrocket.history.gap.notices", "Gap notices sent to sockets that lost events", null, "").increment();
  }

  /** Events an endpoint held because an earlier offset had not arrived yet. */
  public void held() {
    counter("webrocket.history.held", "Events held for an earlier offset", null, "").increment();
  }

  /** Gaps an endpoint filled from the history because the frame never arrived in the reorder window. */
  public void filled(int n) {
    counter("webrocket.history.filled", "Events fetched from the history to fill a gap", null, "").increment(n);
  }

  public void appendFailed() {
    counter("webrocket.history.append.failures", "Appends to a history that failed", null, "").increment();
  }
}
