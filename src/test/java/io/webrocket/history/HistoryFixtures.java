package io.webrocket.history;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.RawWs;
import io.webrocket.test.WbpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** Helpers of the history tests: a paced backend publisher and a raw-socket subscriber. */
final class HistoryFixtures {
  private HistoryFixtures() {}

  /** A configuration with vhost {@code /h}: channels chat (history 5,000), small (history 10) and plain (none). */
  static JsonObject config() {
    return new JsonObject().put("vhosts", new JsonObject().put("/h", new JsonObject()
        .put("channels", new io.vertx.core.json.JsonArray().add("chat").add("small").add("plain"))
        .put("history", new JsonObject()
            .put("chat*", new JsonObject().put("size", 5000).put("lifetimeMs", 60_000))
            .put("small", new JsonObject().put("size", 10).put("lifetimeMs", 60_000)))));
  }

  /**
   * Broadcasts {@code {"n": i}} on a channel through one persistent WBP connection, {@code
   * perSecond} a second, i from 0 to count - 1; replies are read by a second thread.
   */
  static final class Publisher implements AutoCloseable {
    final AtomicInteger sent = new AtomicInteger();
    final AtomicInteger acknowledged = new AtomicInteger();
    private final WbpClient wbp;
    private final Thread writer;
    private final Thread reader;
    private final AtomicBoolean stop = new AtomicBoolean();

    Publisher(int port, String vhost, String token, String channel, int count, int perSecond, String tag) {
      wbp = WbpClient.connect(port);
      String id = WbpClient.identity("req", vhost, token);
      List<String> ka = wbp.request(id, "KA");
      if (!ka.get(0).equals("OK")) {
        throw new AssertionError("KA: " + ka);
      }
      reader = new Thread(() -> {
        try {
          while (acknowledged.get() < count && !stop.get()) {
            List<String> r = wbp.read();
            if (!r.get(0).equals("OK")) {
              throw new AssertionError("BC: " + r);
            }
            acknowledged.incrementAndGet();
          }
        } catch (AssertionError | RuntimeException e) {
          // the test reads acknowledged
        }
      });
      writer = new Thread(() -> {
        long start = System.nanoTime();
        for (int i = 0; i < count && !stop.get(); i++) {
          long due = start + (long) i * 1_000_000_000L / perSecond;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
          wbp.write(WbpClient.message(null, "BC", channel, "message",
              new JsonObject().put("n", i).put("from", tag).encode()));
          sent.incrementAndGet();
        }
      });
      reader.start();
      writer.start();
    }

    void await(long ms) throws InterruptedException {
      writer.join(ms);
      reader.join(ms);
    }

    @Override
    public void close() {
      stop.set(true);
      wbp.close();
    }
  }

  static RawWs connect(int port, String vhost) {
    RawWs ws = RawWs.connect(port, vhost, null, 0);
    if (ws.status != 101) {
      throw new AssertionError("upgrade " + ws.status);
    }
    // Generous: the machine these run on is shared and often loaded; order, not speed, is tested.
    ws.timeout(20_000);
    JsonObject connected = new JsonObject(ws.readText());
    if (!connected.containsKey(":connected")) {
      throw new AssertionError("expected :connected: " + connected);
    }
    return ws;
  }

  static JsonObject subscribe(RawWs ws, JsonObject subscribe) {
    ws.sendText(new JsonObject().put("subscribe", subscribe).encode());
    JsonObject m = new JsonObject(ws.readText());
    if (!m.containsKey(":subscribed")) {
      throw new AssertionError("expected :subscribed, got " + m);
    }
    return m.getJsonObject(":subscribed");
  }

  /**
   * Reads {@code message} events while {@code more} holds, each at the offset after the one
   * before (no gap, no duplicate), and adds each one's {@code n} to {@code seen}; returns the
   * last offset read. {@code lastOffset}: where the subscriber stood before.
   */
  static long readInOrder(RawWs ws, long lastOffset, List<Integer> seen, BooleanSupplier more) {
    while (more.getAsBoolean()) {
      JsonObject e = new JsonObject(ws.readText()).getJsonObject("message");
      assertEquals(lastOffset + 1, e.getLong("offset"), "no gap, no duplicate");
      lastOffset = e.getLong("offset");
      seen.add(e.getInteger("n"));
    }
    return lastOffset;
  }

  /** Reads {@code message} events until {@code until} says stop; returns them (and anything else) in order. */
  static List<JsonObject> read(RawWs ws, java.util.function.Predicate<JsonObject> until) {
    List<JsonObject> got = new ArrayList<>();
    while (true) {
      JsonObject m = new JsonObject(ws.readText());
      got.add(m);
      if (until.test(m)) {
        return got;
      }
    }
  }
}
