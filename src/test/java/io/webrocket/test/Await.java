package io.webrocket.test;

import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The tests' one way to wait: poll a condition until it holds or a stated bound passes. Every
 * wait has a bound; a test that asserts that something does <em>not</em> happen states for how
 * long it looked ({@link #never}), or better, sends a marker and waits for its reply first.
 */
public final class Await {
  /** How often conditions are polled. */
  private static final long POLL_MS = 20;

  private Await() {}

  /** Polls {@code condition} until it holds; fails naming {@code what} once {@code ms} pass. */
  public static void until(long ms, String what, BooleanSupplier condition) {
    if (!within(ms, condition)) {
      throw new AssertionError("not within " + ms + " ms: " + what);
    }
  }

  /**
   * Polls {@code value} until {@code ok} accepts it and returns that value; fails with the last
   * value seen once {@code ms} pass.
   */
  public static <T> T until(long ms, String what, Supplier<T> value, Predicate<? super T> ok) {
    long end = System.nanoTime() + ms * 1_000_000;
    while (true) {
      T v = value.get();
      if (ok.test(v)) {
        return v;
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + ms + " ms: " + what + "; last: " + v);
      }
      pause(POLL_MS);
    }
  }

  /** Whether {@code condition} holds within {@code ms} (polled); for callers that assert themselves. */
  public static boolean within(long ms, BooleanSupplier condition) {
    long end = System.nanoTime() + ms * 1_000_000;
    while (System.nanoTime() < end) {
      if (condition.getAsBoolean()) {
        return true;
      }
      pause(POLL_MS);
    }
    return condition.getAsBoolean();
  }

  /**
   * Asserts that {@code happened} stays false for {@code ms}: a stated bound on a negative. It
   * can only catch what happens within the bound, so prefer a marker message where one exists.
   */
  public static void never(long ms, String what, BooleanSupplier happened) {
    long end = System.nanoTime() + ms * 1_000_000;
    do {
      if (happened.getAsBoolean()) {
        throw new AssertionError("happened within " + ms + " ms: " + what);
      }
      pause(POLL_MS);
    } while (System.nanoTime() < end);
    if (happened.getAsBoolean()) {
      throw new AssertionError("happened within " + ms + " ms: " + what);
    }
  }

  /**
   * Lets {@code ms} pass: for pacing (a rate, a clock that must move on, a timer that must
   * expire), never as a wait for something to happen.
   */
  public static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
