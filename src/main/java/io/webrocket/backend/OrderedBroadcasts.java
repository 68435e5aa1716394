package io.webrocket.backend;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;

/**
 * A persistent connection's broadcasts, published in the order the client sent them whatever
 * order their checks complete in (a check answered from the node's view completes at once, one
 * that asks the registry later). Iterative, not a chain of callbacks: thousands of pipelined
 * broadcasts completing together must not nest one call per broadcast on the stack. Confined to
 * the connection's event loop.
 */
final class OrderedBroadcasts {
  private record Pending(Future<Void> checked, Runnable publish, Promise<Void> done) {}

  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private boolean draining;

  /**
   * Runs {@code publish} once {@code checked} has succeeded and every earlier broadcast was
   * published or refused. The result completes then, as {@code checked} did.
   */
  Future<Void> add(Future<Void> checked, Runnable publish) {
    Promise<Void> done = Promise.promise();
    pending.add(new Pending(checked, publish, done));
    checked.onComplete(x -> drain());
    return done.future().transform(x -> checked);
  }

  /** True while a broadcast added here waits for its check or for an earlier one. */
  boolean inFlight() {
    return !pending.isEmpty();
  }

  /** Completes once every broadcast added so far was published or refused. */
  Future<Void> afterEarlier() {
    return add(Future.succeededFuture(), () -> {});
  }

  private void drain() {
    if (draining) {
      return; // a completion below led back here: the loop picks the new ones up
    }
    draining = true;
    try {
      while (!pending.isEmpty() && pending.peek().checked().isComplete()) {
        Pending head = pending.poll();
        if (head.checked().succeeded()) {
          head.publish().run();
        }
        head.done().complete();
      }
    } finally {
      draining = false;
    }
  }
}
