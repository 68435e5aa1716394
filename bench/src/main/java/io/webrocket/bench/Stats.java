package io.webrocket.bench;

import org.HdrHistogram.Histogram;

/**
 * Delivery counters of the current step. Confined to the generator's event loop: the main
 * thread reads and resets it only through tasks submitted to that loop.
 */
final class Stats {
  /** Deliveries tagged with another step (late arrivals from an earlier one) are counted apart. */
  int step = -1;
  long received;
  long stale;
  long orderViolations;
  long errors;
  String lastError;
  long lastRecvNs;
  int lastPayloadBytes;
  final Histogram latency = new Histogram(60_000_000_000L, 3);

  void reset(int newStep) {
    step = newStep;
    received = 0;
    stale = 0;
    orderViolations = 0;
    errors = 0;
    lastError = null;
    latency.reset();
  }

  void error(String text) {
    errors++;
    lastError = text;
  }
}
