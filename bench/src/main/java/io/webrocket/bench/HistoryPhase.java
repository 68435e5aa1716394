package io.webrocket.bench;

import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.sleep;

import io.vertx.core.json.JsonObject;
import io.webrocket.bench.Generator.Opened;
import java.net.http.HttpResponse;
import java.util.List;

/**
 * Issue 15's history figures, on WebRocket only (a relay keeps no history):
 *
 * <ul>
 *   <li>"historyN": the fan-out of {@link FanoutPhase} to N subscribers on the bench channel
 *       without a history rule, then on the same channel with one ({@code PUT /VHOST/history},
 *       the WARI extension), side by side: what keeping a history costs per broadcast.
 *   <li>"recovery": M messages broadcast into the channel's history, then R subscribers connect
 *       and subscribe with {@code "since"} the offset before them: messages replayed per second
 *       (R × M over the time from the first connect to the last replayed message), with every
 *       message checked to arrive once and in order.
 * </ul>
 */
final class HistoryPhase {
  private final Generator g;

  HistoryPhase(Generator g) {
    this.g = g;
  }

  /** The rule the phases set on the bench channel: {@code size} events, five minutes. */
  private void rule(int size) throws Exception {
    HttpResponse<String> r = g.admin("PUT", Bench.VHOST + "/history",
        new JsonObject().put(Bench.CHANNEL, new JsonObject().put("size", size).put("lifetimeMs", 300_000)).encode());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("PUT " + Bench.VHOST + "/history: " + r.statusCode() + " " + r.body());
    }
  }

  private void noRule() throws Exception {
    HttpResponse<String> r = g.admin("DELETE", Bench.VHOST + "/history", null);
    if (r.statusCode() >= 300) {
      throw new IllegalStateException("DELETE " + Bench.VHOST + "/history: " + r.statusCode() + " " + r.body());
    }
  }

  /**
   * Fan-out to {@code n} without, then with, a history on the channel (size {@code
   * --history-size}, default 1,000), side by side: the same N subscribers for both (opened once),
   * and first an unmeasured warm-up of every path both sweeps take (each publisher, without and
   * with the rule, at the ladder's first and third rates, 3 s each), so that neither figure pays
   * for the JIT or for the phase's place in the run (run first, on a cold server, the "without"
   * sweep failed its first rates on p99 and stopped far below {@code fanoutN}: run 191750Z).
   */
  JsonObject fanout(int n, double p99LimitMs) throws Exception {
    int size = Integer.parseInt(g.args.getOrDefault("history-size", "1000"));
    FanoutPhase fanout = new FanoutPhase(g);
    int concurrency = Integer.parseInt(g.args.getOrDefault("open-concurrency", "500"));
    log("history N=%d: opening subscribers, %d in flight", n, concurrency);
    noRule();
    Opened o = g.open(n, concurrency, true, 180_000);
    JsonObject r = new JsonObject().put("historySize", size).put("subscribers", o.conns().size()).put("failed", o.failed())
        .put("openSeconds", Math.round(o.seconds() * 100) / 100.0);
    if (o.conns().size() < n) {
      g.closeAll(o.conns());
      return r.put("error", "could not open all subscribers");
    }
    List<WsConn> conns = o.conns();
    JsonObject without = new JsonObject().put("subscribers", n).put("p99LimitMs", p99LimitMs);
    JsonObject with = new JsonObject().put("subscribers", n).put("p99LimitMs", p99LimitMs);
    try {
      long[] ladder = fanout.ladder();
      long[] warmRates = {ladder[0], ladder[Math.min(2, ladder.length - 1)]};
      fanout.warm(conns, warmRates, 3_000, p99LimitMs, "N=" + n + " without history");
      rule(size);
      fanout.warm(conns, warmRates, 3_000, p99LimitMs, "N=" + n + " with history");
      noRule();
      log("history N=%d: without history", n);
      fanout.sweepAll(conns, n, p99LimitMs, without);
      rule(size);
      log("history N=%d: with history (size %d)", n, size);
      fanout.sweepAll(conns, n, p99LimitMs, with);
    } finally {
      noRule();
      g.closeAll(conns);
      sleep(2000);
    }
    return r.put("without", without).put("with", with);
  }

  /**
   * {@code messages} broadcast into the history (size = messages), then {@code subscribers}
   * reconnect with {@code since} the offset before them.
   */
  JsonObject recovery(int subscribers, int messages) throws Exception {
    rule(messages);
    try {
      return recover(subscribers, messages);
    } finally {
      noRule();
    }
  }

  private JsonObject recover(int subscribers, int messages) throws Exception {
    JsonObject r = new JsonObject().put("subscribers", subscribers).put("messages", messages);
    Opened one = g.open(1, 1, true, 30_000);
    if (one.conns().size() != 1) {
      return r.put("error", "the publisher could not subscribe");
    }
    WsConn pub = one.conns().get(0).pad(Bench.PAD_BROWSER);
    Long base = pub.subscribedOffset;
    String epoch = pub.subscribedEpoch;
    if (base == null || epoch == null) {
      g.closeAll(one.conns());
      return r.put("error", ":subscribed carried no offset: the channel keeps no history");
    }
    // Broadcast in batches of 100, each batch once the publisher (also a subscriber) has it back.
    int step = ++g.stepId;
    g.onLoop(() -> {
      g.stats.reset(step);
      return null;
    });
    long deadline = System.nanoTime() + 60_000_000_000L;
    for (int sent = 0; sent < messages; ) {
      int from = sent;
      int batch = Math.min(100, messages - sent);
      g.onLoop(() -> {
        for (int i = 0; i < batch; i++) {
          pub.send(step, from + i, System.nanoTime());
        }
        pub.flush();
        return null;
      });
      sent += batch;
      int want = sent;
      while (g.onLoop(() -> g.stats.received) < want) {
        if (System.nanoTime() > deadline) {
          g.closeAll(one.conns());
          return r.put("error", "the publisher did not get its own broadcasts back");
        }
        sleep(5);
      }
    }
    g.closeAll(one.conns());
    g.settle();
    g.onLoop(() -> {
      g.stats.reset(step); // the replayed events carry the step they were broadcast in
      return null;
    });
    String since = new JsonObject().put("offset", base).put("epoch", epoch).encode();
    long expected = (long) subscribers * messages;
    log("recovery: %d subscribers reconnect with since %s, %d messages each", subscribers, since, messages);
    long start = System.nanoTime();
    int concurrency = Integer.parseInt(g.args.getOrDefault("open-concurrency", "500"));
    Opened o = g.open(subscribers, concurrency, true, 120_000, since);
    double openSeconds = (System.nanoTime() - start) / 1e9;
    long limit = System.nanoTime() + 120_000_000_000L;
    long got;
    while ((got = g.onLoop(() -> g.stats.received)) < (long) o.conns().size() * messages && System.nanoTime() < limit) {
      sleep(10);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long violations = g.onLoop(() -> g.stats.orderViolations);
    long errors = g.onLoop(() -> g.stats.errors);
    String lastError = g.onLoop(() -> g.stats.lastError);
    long notRecovered = o.conns().stream().filter(c -> c.subscribedOffset == null).count();
    List<WsConn> conns = o.conns();
    g.closeAll(conns);
    sleep(1000);
    log("recovery: %d of %d replayed in %.2f s (%.0f/s), %d order violations, %d errors", got, expected, seconds,
        got / seconds, violations, errors);
    return r.put("subscribed", conns.size()).put("failed", o.failed())
        .put("replayed", got).put("expected", expected).put("complete", got == expected)
        .put("seconds", Math.round(seconds * 1000) / 1000.0).put("openSeconds", Math.round(openSeconds * 1000) / 1000.0)
        .put("replayedPerSecond", Math.round(got / seconds)).put("orderViolations", violations)
        .put("errors", errors).put("lastError", lastError).put("withoutOffset", notRecovered);
  }
}
