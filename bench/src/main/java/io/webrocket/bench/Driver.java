package io.webrocket.bench;

import io.netty.channel.EventLoop;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Paces a publisher at a target rate: every millisecond it sends what is due since the start
 * (bounded burst), then flushes once. The timestamp in each message is the actual send time.
 * When the publisher cannot send (socket not writable, window full) the tick is counted as
 * "behind" and the deficit is retried on the next tick. Confined to the event loop.
 */
final class Driver implements Runnable {
  /** Sequence numbers increase across all steps and publishers, so receivers can check order. */
  static long seq;

  private final Publisher pub;
  private final double ratePerSec;
  private final int step;
  private long startNs;
  private ScheduledFuture<?> tick;
  long sent;
  long behind;

  Driver(Publisher pub, double ratePerSec, int step) {
    this.pub = pub;
    this.ratePerSec = ratePerSec;
    this.step = step;
  }

  void start(EventLoop loop) {
    startNs = System.nanoTime();
    tick = loop.scheduleAtFixedRate(this, 0, 1, TimeUnit.MILLISECONDS);
  }

  long stop() {
    tick.cancel(false);
    return sent;
  }

  @Override
  public void run() {
    // the first message goes at once, then one every 1/rate
    long due = 1 + (long) ((System.nanoTime() - startNs) * ratePerSec / 1e9);
    int burst = 0;
    while (sent < due && burst < 10_000) {
      if (!pub.canSend()) {
        behind++;
        break;
      }
      pub.send(step, ++seq, System.nanoTime());
      sent++;
      burst++;
    }
    if (burst > 0) {
      pub.flush();
    }
  }
}
