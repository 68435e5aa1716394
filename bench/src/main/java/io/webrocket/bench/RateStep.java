package io.webrocket.bench;

import static io.webrocket.bench.Generator.cpu;
import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.ms;
import static io.webrocket.bench.Generator.sleep;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One rate step of a sweep: a publisher driven at a fixed rate for a while, then the deliveries counted and timed. */
final class RateStep {
  private final Generator g;

  RateStep(Generator g) {
    this.g = g;
  }

  /** A step is disturbed when the server's or the generator's threads waited for a CPU this long (share of wall time). */
  static final double DISTURBED = 0.10;
  static final int MAX_ATTEMPTS = 4;

  /**
   * One rate step, repeated (up to 4 attempts) while it fails and was disturbed: other processes
   * on the machine ran on the pinned cores. Each attempt first waits (at most 10 s) for a quiet
   * moment. The attempt kept is the first that passes or is
   * undisturbed, else the least disturbed one.
   */
  JsonObject step(List<WsConn> conns, Publisher pub, double msgsPerSec, long durMs, double limitMs, String label)
      throws Exception {
    JsonObject kept = null;
    int attempts = 0;
    long waited = 0;
    while (attempts < MAX_ATTEMPTS) {
      attempts++;
      waited += Net.waitQuiet(10_000);
      JsonObject r = attempt(conns, pub, msgsPerSec, durMs, limitMs, label);
      double dist = disturbance(r);
      r.put("disturbed", dist > DISTURBED);
      if (kept == null || dist < disturbance(kept)) {
        kept = r;
      }
      if (r.getBoolean("pass") || dist <= DISTURBED) {
        kept = r;
        break;
      }
      log("    disturbed (%s %.0f%%): repeating", g.serverCpu >= 0 ? "other processes on the servers' core, or generator run-queue wait"
          : "run-queue wait", 100 * dist);
    }
    return kept.put("attempts", attempts).put("waitedForQuietMs", waited);
  }

  /**
   * How much others disturbed a step: the generator's run-queue wait, and either the server's
   * run-queue wait or (with {@code --server-cpu}) the share of the servers' core that other
   * processes used.
   */
  double disturbance(JsonObject r) {
    double server = g.serverCpu >= 0 ? r.getDouble("serverCoreForeign") : r.getDouble("serverRunqWait");
    return Math.max(server, r.getDouble("generatorRunqWait"));
  }

  JsonObject attempt(List<WsConn> conns, Publisher pub, double msgsPerSec, long durMs, double limitMs, String label)
      throws Exception {
    int n = conns.size();
    int id = ++g.stepId;
    long errs0 = g.onLoop(pub::errors);
    long closes0 = g.onLoop(() -> {
      g.stats.reset(id);
      return g.unexpectedCloses;
    });
    String load = Net.loadAvg();
    long srv0 = Net.cpuTicks(g.serverPid);
    long gen0 = Net.cpuTicks("self");
    long srvWait0 = Net.runqWaitNs(g.serverPid);
    long genWait0 = Net.runqWaitNs("self");
    long core0 = g.serverCpu >= 0 ? Net.cpuBusyTicks(g.serverCpu) : -1;
    Driver d = new Driver(pub, msgsPerSec, id);
    long t0 = System.nanoTime();
    g.onLoop(() -> {
      d.start(g.net.loop);
      return null;
    });
    sleep(durMs);
    long sent = g.onLoop(d::stop);
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(g.serverPid);
    long gen1 = Net.cpuTicks("self");
    long srvWait1 = Net.runqWaitNs(g.serverPid);
    long genWait1 = Net.runqWaitNs("self");
    long core1 = g.serverCpu >= 0 ? Net.cpuBusyTicks(g.serverCpu) : -1;
    long behind = g.onLoop(() -> d.behind);
    long expected = sent * n;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(g.drainMs);
    while (System.nanoTime() < deadline && g.onLoop(() -> g.stats.received) < expected) {
      sleep(20);
    }
    JsonObject r = g.onLoop(() -> {
      var h = g.stats.latency;
      return new JsonObject()
          .put("step", id)
          .put("targetMsgsPerSec", Math.round(msgsPerSec * 100) / 100.0)
          .put("targetDeliveriesPerSec", Math.round(msgsPerSec * n))
          .put("seconds", Math.round(secs * 1000) / 1000.0)
          .put("sent", sent)
          .put("sentPerSec", Math.round(sent / secs * 10) / 10.0)
          .put("publisherBehindTicks", behind)
          .put("expected", expected)
          .put("received", g.stats.received)
          .put("loss", expected - g.stats.received)
          .put("orderViolations", g.stats.orderViolations)
          .put("errors", g.stats.errors + pub.errors() - errs0)
          .put("lastError", g.stats.lastError)
          .put("unexpectedCloses", g.unexpectedCloses - closes0)
          .put("staleDeliveries", g.stats.stale)
          .put("deliveriesPerSec", Math.round(g.stats.received / secs))
          .put("payloadBytes", g.stats.lastPayloadBytes)
          .put("p50Ms", ms(h.getValueAtPercentile(50)))
          .put("p99Ms", ms(h.getValueAtPercentile(99)))
          .put("p999Ms", ms(h.getValueAtPercentile(99.9)))
          .put("maxMs", ms(h.getMaxValue()));
    });
    r.put("serverCpu", cpu(srv1 - srv0, secs)).put("generatorCpu", cpu(gen1 - gen0, secs)).put("loadavg", load)
        .put("serverRunqWait", Math.round((srvWait1 - srvWait0) / 1e9 / secs * 100) / 100.0)
        .put("generatorRunqWait", Math.round((genWait1 - genWait0) / 1e9 / secs * 100) / 100.0)
        // server CPU time per delivery: a capacity figure that holds even when the core was shared
        .put("serverCpuNsPerDelivery", g.stats.received == 0 ? null : Math.round((srv1 - srv0) * 1e7 / r.getLong("received")));
    if (g.serverCpu >= 0) {
      // what other processes ran on the servers' core (its busy ticks minus the servers' own)
      r.put("serverCoreForeign", Math.max(0, cpu((core1 - core0) - (srv1 - srv0), secs)));
    }
    boolean pass = r.getLong("loss") == 0
        && r.getLong("orderViolations") == 0
        && r.getLong("errors") == 0
        && r.getLong("unexpectedCloses") == 0
        && r.getDouble("p99Ms") < limitMs
        && sent + 1 >= 0.95 * msgsPerSec * secs;
    r.put("pass", pass);
    log("  [%s] %,d del/s (%.1f msg/s): sent %d, recv %,d/%,d, loss %,d, order %d, err %d, p50 %.2f p99 %.2f p999 %.2f max %.2f ms; CPU server %.0f%% gen %.0f%%, runq wait server %.0f%% gen %.0f%%%s %s",
        label, r.getLong("targetDeliveriesPerSec"), msgsPerSec, sent, r.getLong("received"), expected, r.getLong("loss"),
        r.getLong("orderViolations"), r.getLong("errors"), r.getDouble("p50Ms"), r.getDouble("p99Ms"),
        r.getDouble("p999Ms"), r.getDouble("maxMs"), 100 * r.getDouble("serverCpu"), 100 * r.getDouble("generatorCpu"),
        100 * r.getDouble("serverRunqWait"), 100 * r.getDouble("generatorRunqWait"),
        g.serverCpu >= 0 ? String.format(", others on server core %.0f%%", 100 * r.getDouble("serverCoreForeign")) : "",
        pass ? "PASS" : "FAIL");
    g.settle();
    if (r.getLong("loss") > 0) {
      r.put("serverIdleWaitMs", awaitServerIdle());
    }
    return r;
  }

  /**
   * After a step that lost messages: waits (at most 2 minutes) until the servers' CPU falls
   * below 30 % over half a second. A target that fell far behind (the relays have no bound on
   * their queues) goes on working off its backlog after the step, delivering nothing new; the
   * next steps would measure that backlog, not their own rate. Returns the time waited.
   */
  long awaitServerIdle() throws Exception {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      long c0 = Net.cpuTicks(g.serverPid);
      sleep(500);
      if (cpu(Net.cpuTicks(g.serverPid) - c0, 0.5) < 0.3) {
        break;
      }
    }
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    if (waited > 1_000) {
      log("    the server stayed busy after the step: waited %.1f s for it to go idle", waited / 1000.0);
    }
    return waited;
  }
}
