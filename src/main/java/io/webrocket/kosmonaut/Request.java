package io.webrocket.kosmonaut;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** One client request: its encoded bytes (without identity), its future, its deadline and attempts. */
final class Request {
  final String command;
  final byte[] bytes;
  final String[] frames;
  /** Safe to send again when a connection ends after it was written (see {@link Client}). */
  final boolean retriable;
  final long deadlineNanos;
  final CompletableFuture<String> future = new CompletableFuture<>();
  /** How many times it was written; only the thread sending or settling it touches it. */
  int attempts;

  Request(String command, boolean retriable, long deadlineNanos, String... frames) {
    this.command = command;
    this.frames = frames;
    this.bytes = Wire.encode(null, command, frames);
    this.retriable = retriable;
    this.deadlineNanos = deadlineNanos;
  }

  /** For messages: the command and its first frame, e.g. {@code "BC chat"} (built only when needed). */
  String label() {
    return frames.length > 0 ? command + " " + frames[0] : command;
  }

  boolean expired(long now) {
    return now - deadlineNanos > 0;
  }

  /** Completes with the broker's reply: the token for {@code AT}, null for {@code OK}. */
  void reply(List<String> frames) {
    String cmd = frames.isEmpty() ? "" : frames.get(0);
    if (cmd.equals("ER")) {
      int code;
      try {
        code = Integer.parseInt(frames.size() > 1 ? frames.get(1).trim() : "");
      } catch (NumberFormatException e) {
        code = 597;
      }
      if (code == 454 && command.equals("CC") && attempts > 1) {
        // Sent again after a connection ended without its reply: the first attempt may have
        // closed the channel. Either way it is closed now, which is what was asked.
        future.complete(null);
        return;
      }
      future.completeExceptionally(KosmonautException.fromBroker(code, label()));
    } else if (command.equals("AT") && cmd.equals("AT") && frames.size() > 1 && !frames.get(1).isEmpty()) {
      future.complete(frames.get(1));
    } else if (!command.equals("AT") && cmd.equals("OK")) {
      future.complete(null);
    } else {
      future.completeExceptionally(new ConnectionException("unexpected reply " + frames + " to " + label(), null));
    }
  }

  void fail(KosmonautException e) {
    future.completeExceptionally(e);
  }
}
