package io.webrocket.frontend;

import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Pings every socket of one endpoint instance once per {@code websocket.pingIntervalMs} and
 * closes those that are gone: silent for two intervals (1001, "ping timeout"), or over their
 * outbound bound for longer than {@code websocket.slowConsumerTimeoutMs} (1008, "slow
 * consumer"). Runs on the instance's event loop.
 */
final class Liveness {
  /** Each socket is pinged once per interval, in one of this many ticks (see {@link #schedule}). */
  private static final int PING_SLICES = 10;

  private final Vertx vertx;
  private final Supplier<Iterable<BrowserConnection>> sessions;
  private final io.webrocket.metrics.Metrics metrics;
  private long pingTick;
  /** -1 until the first schedule: timer ids start at 0, so 0 may be another component's timer. */
  private long pingTimer = -1;
  private long slowConsumerTimeoutNs;

  Liveness(Vertx vertx, Supplier<Iterable<BrowserConnection>> sessions, io.webrocket.metrics.Metrics metrics) {
    this.vertx = vertx;
    this.sessions = sessions;
    this.metrics = metrics;
  }

  /** How long a socket may stay over its outbound bound before it is closed. */
  void slowConsumerTimeoutMs(long ms) {
    slowConsumerTimeoutNs = TimeUnit.MILLISECONDS.toNanos(ms);
  }

  /**
   * Pings run in {@link #PING_SLICES} slices spread over the interval, each tick taking the
   * sockets of one slice: pinging every socket in one pass (one write and flush each) would stall
   * the event loop for a whole pass once per interval — about 0.1 s at 10,000 sockets here —
   * and put that stall into the latency of every broadcast waiting behind it.
   */
  void schedule(long intervalMs) {
    stop();
    long tickMs = Math.max(1, intervalMs / PING_SLICES);
    long intervalNs = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    pingTimer = vertx.setPeriodic(tickMs, id -> check(intervalNs, (int) (pingTick++ % PING_SLICES)));
  }

  void stop() {
    if (pingTimer >= 0) {
      vertx.cancelTimer(pingTimer);
      pingTimer = -1;
    }
  }

  /** One slice of the sockets: pings them; closes those silent for two intervals or unwritable too long. */
  private void check(long intervalNs, int slice) {
    long now = System.nanoTime();
    for (BrowserConnection c : sessions.get()) {
      if (Math.floorMod(System.identityHashCode(c), PING_SLICES) != slice) {
        continue;
      }
      if (c.closing()) {
        continue; // its close is under way: nothing may follow the close frame
      }
      BrowserSocket s = c.wire;
      if (now - s.lastHeard() > 2 * intervalNs) {
        metrics.websocketPolicyCloses("pingTimeout").increment();
        c.shutdown((short) 1001, "ping timeout");
      } else if (s.unwritableSince() != 0 && !s.writable() && now - s.unwritableSince() > slowConsumerTimeoutNs) {
        metrics.websocketPolicyCloses("slowConsumer").increment();
        c.shutdown((short) 1008, "slow consumer");
      } else {
        c.pinged();
        s.ping();
      }
    }
  }
}
