package io.webrocket.backend;

import io.webrocket.protocol.Wbp;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Replies of pipelined requests, written in the order the requests arrived whatever order
 * they complete in. Confined to the connection's event loop.
 */
final class OrderedReplies {
  private final ArrayDeque<Future<Buffer>> pending = new ArrayDeque<>();
  private final Consumer<Buffer> writer;

  OrderedReplies(Consumer<Buffer> writer) {
    this.writer = writer;
  }

  void add(Future<Buffer> reply) {
    pending.add(reply);
    reply.onComplete(x -> drain());
  }

  /** A reply already known: written at once if nothing is owed before it, else queued behind. */
  void addDone(Buffer reply) {
    if (pending.isEmpty()) {
      writer.accept(reply);
    } else {
      pending.add(Future.succeededFuture(reply));
    }
  }

  int size() {
    return pending.size();
  }

  private void drain() {
    while (!pending.isEmpty() && pending.peek().isComplete()) {
      Future<Buffer> head = pending.poll();
      // Failures were turned into ER replies by the caller; a bare failure is an internal error.
      writer.accept(head.succeeded() ? head.result() : Wbp.error(io.webrocket.protocol.Status.INTERNAL_ERROR));
    }
  }
}
