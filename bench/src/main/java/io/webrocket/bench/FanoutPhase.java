package io.webrocket.bench;

import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.sleep;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bench.Generator.Opened;
import java.util.ArrayList;
import java.util.List;

/**
 * Phases "fanoutN": N subscribers, a browser publisher and a WBP {@code KA} publisher (or a
 * relay's), each swept up a ladder of delivery rates to the highest that passes.
 */
final class FanoutPhase {
  private final Generator g;
  private final RateStep stepper;

  FanoutPhase(Generator g) {
    this.g = g;
    this.stepper = new RateStep(g);
  }

  JsonObject fanout(int n, double p99LimitMs) throws Exception {
    // --open-concurrency: subscribe handshakes in flight (default 500)
    int concurrency = Integer.parseInt(g.args.getOrDefault("open-concurrency", "500"));
    log("fan-out N=%d: opening subscribers, %d in flight", n, concurrency);
    Opened o = g.open(n, concurrency, true, 180_000);
    JsonObject r = new JsonObject().put("subscribers", o.conns().size()).put("failed", o.failed())
        .put("openSeconds", Math.round(o.seconds() * 100) / 100.0).put("p99LimitMs", p99LimitMs);
    if (o.conns().size() < n) {
      log("  only %d of %d subscribers; skipping", o.conns().size(), n);
      g.closeAll(o.conns());
      return r.put("error", "could not open all subscribers");
    }
    log("  %d subscribed in %.1f s", n, o.seconds());
    List<WsConn> conns = o.conns();
    sweepAll(conns, n, p99LimitMs, r);
    g.closeAll(conns);
    sleep(2000);
    return r;
  }

  /**
   * The publishers' sweeps over subscribers already open ({@code conns}, N of them): the browser
   * publisher (or the relay's), then the WBP {@code KA} one unless {@code --no-wbp}; each
   * result goes into {@code r}.
   */
  void sweepAll(List<WsConn> conns, int n, double p99LimitMs, JsonObject r) throws Exception {
    // the browser publisher: a subscriber on the first node (the list is in order of readiness)
    WsConn first = browserPublisher(g, conns);
    if (g.wsPorts.length > 1) {
      int[] per = new int[g.wsPorts.length];
      conns.forEach(c -> per[c.node]++);
      r.put("subscribersPerNode", new JsonArray(java.util.Arrays.stream(per).boxed().toList()));
      log("  subscribers per node (ports %s): %s; publisher on port %d", java.util.Arrays.toString(g.wsPorts),
          java.util.Arrays.toString(per), g.wsPorts[first.node]);
    }
    if (g.relay) {
      r.put("relay", sweep(conns, first.pad(Bench.PAD_RELAY), p99LimitMs, "N=" + n + " relay"));
    } else {
      r.put("browser", sweep(conns, first.pad(Bench.PAD_BROWSER), p99LimitMs, "N=" + n + " browser"));
      WbpConn pub = g.args.containsKey("no-wbp") ? null : g.connectKa(256, Bench.PAD_WBP);
      if (g.args.containsKey("no-wbp")) {
        log("  WBP publisher skipped (--no-wbp)");
      } else if (pub == null) {
        r.put("wbp", new JsonObject().put("error", "KA connection failed"));
      } else {
        r.put("wbp", sweep(conns, pub, p99LimitMs, "N=" + n + " wbp"));
        g.onLoop(() -> {
          pub.close();
          return null;
        });
      }
    }
  }

  /** The browser publisher over {@code conns}: a subscriber on the first node. */
  static WsConn browserPublisher(Generator g, List<WsConn> conns) {
    return conns.stream().filter(c -> c.node == 0).findFirst().orElse(conns.get(0));
  }

  /** One unmeasured step per publisher at each of {@code rates} deliveries/s: the JIT compiles the paths they take. */
  void warm(List<WsConn> conns, long[] rates, long ms, double p99LimitMs, String label) throws Exception {
    int n = conns.size();
    List<Publisher> pubs = new ArrayList<>();
    pubs.add(browserPublisher(g, conns).pad(Bench.PAD_BROWSER));
    WbpConn wbp = g.args.containsKey("no-wbp") ? null : g.connectKa(256, Bench.PAD_WBP);
    if (wbp != null) {
      pubs.add(wbp);
    }
    for (Publisher pub : pubs) {
      for (long d : rates) {
        log("  [%s] warm-up %d ms at %d deliveries/s (not measured)", label, ms, d);
        stepper.attempt(conns, pub, (double) d / n, ms, p99LimitMs, label + " warm-up"); // once: a warm-up is not judged
      }
    }
    if (wbp != null) {
      g.onLoop(() -> {
        wbp.close();
        return null;
      });
    }
  }

  static final long[] LADDER = {100_000, 200_000, 400_000, 700_000, 1_000_000, 1_400_000, 2_000_000, 2_800_000, 4_000_000,
      5_600_000, 8_000_000};

  /** The rate ladder in deliveries/s; {@code --ladder 100000,200000} overrides it (for experiments). */
  long[] ladder() {
    String l = g.args.get("ladder");
    return l == null ? LADDER : java.util.Arrays.stream(l.split(",")).mapToLong(Long::parseLong).toArray();
  }

  /** Stepped rates until a step fails, a few bisection steps, then one step at half the best. */
  JsonObject sweep(List<WsConn> conns, Publisher pub, double limitMs, String label) throws Exception {
    int n = conns.size();
    JsonArray steps = new JsonArray();
    long[] ladder = ladder();
    log("  [%s] warm-up %d ms at %d deliveries/s", label, g.warmupMs, ladder[0]);
    JsonObject warm = stepper.step(conns, pub, (double) ladder[0] / n, g.warmupMs, limitMs, label);
    if (g.args.containsKey("fixed")) { // experiments: exactly the ladder's steps, nothing else
      for (long d : ladder) {
        steps.add(stepper.step(conns, pub, (double) d / n, g.stepMs, limitMs, label));
      }
      return new JsonObject().put("steps", steps);
    }
    long best = 0;
    JsonObject bestStep = null;
    long fail = 0; // the lowest failing ladder rate above best
    int failsInRow = 0;
    // Not monotonic: at low rates each message is flushed alone (one write per delivery); at higher
    // rates several messages share a flush. So go on past a failure; stop after two in a row.
    for (long d : ladder) {
      JsonObject s = stepper.step(conns, pub, (double) d / n, g.stepMs, limitMs, label);
      steps.add(s);
      if (s.getBoolean("pass")) {
        best = d;
        bestStep = s;
        fail = 0;
        failsInRow = 0;
      } else {
        if (fail == 0) {
          fail = d;
        }
        if (++failsInRow == 2) {
          break;
        }
      }
    }
    for (int i = 0; i < 3 && best == 0 && fail > 0; i++) {
      long d = fail / 2;
      JsonObject s = stepper.step(conns, pub, (double) d / n, g.stepMs, limitMs, label);
      steps.add(s);
      if (s.getBoolean("pass")) {
        best = d;
        bestStep = s;
      } else {
        fail = d;
      }
    }
    for (int i = 0; i < g.refine && best > 0 && fail > 0; i++) {
      long mid = round2(Math.sqrt((double) best * fail));
      if (mid <= best || mid >= fail) {
        break;
      }
      JsonObject s = stepper.step(conns, pub, (double) mid / n, g.stepMs, limitMs, label);
      steps.add(s);
      if (s.getBoolean("pass")) {
        best = mid;
        bestStep = s;
      } else {
        fail = mid;
      }
    }
    // Half the maximum, three times: one step's p99 here varies up to twofold between repeats
    // (the JIT, the scheduler, which side of a flush round a message lands on), so the step
    // with the median p99 stands for the rate, as the reference figures are medians of 3.
    JsonArray halves = new JsonArray();
    for (int i = 0; i < HALF_RUNS && best > 0; i++) {
      halves.add(stepper.step(conns, pub, (double) best / 2 / n, g.stepMs, limitMs, label + " half"));
    }
    JsonObject half = medianByP99(halves);
    // --also-at R1,R2: extra steps at fixed deliveries/s, to compare setups at the same load
    JsonArray also = new JsonArray();
    if (g.args.containsKey("also-at")) {
      for (String d : g.args.get("also-at").split(",")) {
        also.add(stepper.step(conns, pub, Double.parseDouble(d) / n, g.stepMs, limitMs, label + " fixed"));
      }
    }
    return new JsonObject()
        .put("alsoAt", also)
        .put("maxDeliveriesPerSec", best)
        .put("firstFailingDeliveriesPerSec", fail == 0 ? null : fail)
        .put("atMax", bestStep)
        .put("atHalf", half)
        .put("halfRuns", halves)
        .put("warmup", warm)
        .put("steps", steps);
  }

  static final int HALF_RUNS = 3;

  /**
   * The step whose p99 is the median of {@code steps} (null if there are none). A step that lost
   * messages counts as the slowest, whatever the p99 of what did arrive.
   */
  static JsonObject medianByP99(JsonArray steps) {
    List<JsonObject> sorted = new ArrayList<>();
    steps.forEach(o -> sorted.add((JsonObject) o));
    if (sorted.isEmpty()) {
      return null;
    }
    sorted.sort(java.util.Comparator.comparingDouble(
        o -> o.getLong("loss", 1L) != 0 ? Double.MAX_VALUE : o.getDouble("p99Ms", Double.MAX_VALUE)));
    return sorted.get((sorted.size() - 1) / 2);
  }

  /** Rounds to two significant digits. */
  static long round2(double v) {
    double mag = Math.pow(10, Math.floor(Math.log10(v)) - 1);
    return (long) (Math.round(v / mag) * mag);
  }
}
