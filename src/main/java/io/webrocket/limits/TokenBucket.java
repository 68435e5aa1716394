package io.webrocket.limits;

/**
 * A rate limit for one connection: {@code rate} events per second on average, bursts of up to
 * {@code burst}. Confined to the connection's event loop; no allocation per event.
 */
public final class TokenBucket {
  private double rate;
  private double burst;
  private double tokens;
  private long last;
  /** Events refused since the last one allowed: how long the excess has been sustained. */
  private int refusedInARow;

  public TokenBucket(double rate, double burst) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = System.nanoTime();
  }

  /** Takes one token if there is one. */
  public boolean tryTake() {
    long now = System.nanoTime();
    tokens = Math.min(burst, tokens + (now - last) * rate / 1e9);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      refusedInARow = 0;
      return true;
    }
    refusedInARow++;
    return false;
  }

  /** True once more excess events than a full burst arrived without a pause: abuse, not a spike. */
  public boolean sustained() {
    return refusedInARow > burst;
  }

  /** A new limit (live configuration). */
  public void limit(double rate, double burst) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(tokens, burst);
  }
}
