package io.webrocket.bench;

import static io.webrocket.bench.Generator.cpu;
import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.ms;
import static io.webrocket.bench.Generator.sleep;
import static io.webrocket.bench.Generator.waitShare;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bench.Generator.Opened;
import java.util.ArrayList;
import java.util.List;

/** Phase "connect": WebSocket connects per second in steady state. */
final class ConnectPhase {
  private final Generator g;

  ConnectPhase(Generator g) {
    this.g = g;
  }

  /**
   * The connect rate in steady state: two warm-up rounds (the server's JIT compiles the
   * handshake path on the one core it has: in a cold round most of that core goes to the C2
   * compiler, a profile showed 57 %), then three measured rounds of {@code count}; the median
   * round is reported, all are kept.
   */
  JsonObject connectRate(int count, int concurrency) throws Exception {
    for (int i = 0; i < 2; i++) {
      log("connect rate: warm-up round of %d", count);
      Opened warm = g.open(count, concurrency, false, 120_000);
      log("  warm-up: %.0f/s", warm.conns().size() / warm.seconds());
      g.closeAll(warm.conns());
      sleep(2000);
    }
    List<JsonObject> rounds = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      rounds.add(connectRound(count, concurrency));
    }
    List<JsonObject> sorted = new ArrayList<>(rounds);
    sorted.sort(java.util.Comparator.comparingLong(r -> r.getLong("perSecond")));
    JsonObject median = sorted.get(1).copy();
    median.put("rounds", new io.vertx.core.json.JsonArray(rounds));
    log("  median of 3: %d/s", median.getLong("perSecond"));
    return median;
  }

  JsonObject connectRound(int count, int concurrency) throws Exception {
    log("connect rate: %d WebSockets, %d in flight", count, concurrency);
    Net.waitQuiet(15_000);
    long cpu0 = Net.cpuTicks(g.serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(g.serverPid);
    long gw0 = Net.runqWaitNs("self");
    Opened o = g.open(count, concurrency, false, 120_000);
    long cpu1 = Net.cpuTicks(g.serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(g.serverPid);
    long gw1 = Net.runqWaitNs("self");
    int n = o.conns().size();
    double rate = n / o.seconds();
    JsonObject r = new JsonObject()
        .put("connections", n)
        .put("failed", o.failed())
        .put("concurrency", concurrency)
        .put("seconds", Math.round(o.seconds() * 1000) / 1000.0)
        .put("perSecond", Math.round(rate))
        .put("p50Ms", ms(o.connectNs().getValueAtPercentile(50)))
        .put("p99Ms", ms(o.connectNs().getValueAtPercentile(99)))
        .put("serverCpu", cpu(cpu1 - cpu0, o.seconds()))
        .put("generatorCpu", cpu(gen1 - gen0, o.seconds()))
        .put("serverRunqWait", waitShare(w1 - w0, o.seconds()))
        .put("generatorRunqWait", waitShare(gw1 - gw0, o.seconds()));
    log("  %d connected (%d failed) in %.2f s = %.0f/s, p50 %.2f ms p99 %.2f ms, server CPU %.0f%%, generator CPU %.0f%%",
        n, o.failed(), o.seconds(), rate, r.getDouble("p50Ms"), r.getDouble("p99Ms"),
        100 * r.getDouble("serverCpu"), 100 * r.getDouble("generatorCpu"));
    g.closeAll(o.conns());
    sleep(2000);
    return r;
  }
}
