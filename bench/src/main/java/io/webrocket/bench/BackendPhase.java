package io.webrocket.bench;

import static io.webrocket.bench.Generator.cpu;
import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.sleep;
import static io.webrocket.bench.Generator.waitShare;

import io.vertx.core.json.JsonObject;
import io.webrocket.bench.Generator.Opened;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Phase "backend": pipelined {@code BC} on one persistent WBP connection ({@code KA}), and one-shot {@code BC}s. */
final class BackendPhase {
  private final Generator g;

  BackendPhase(Generator g) {
    this.g = g;
  }

  JsonObject backend() throws Exception {
    log("backend: KA pipelined BC and one-shot BC, 4 subscribers");
    Opened o = g.open(4, 4, true, 30_000);
    JsonObject r = new JsonObject();
    r.put("ka", kaRate(o.conns(), 512));
    r.put("oneShot", oneShotRate(32));
    g.closeAll(o.conns());
    return r;
  }

  JsonObject kaRate(List<WsConn> subs, int window) throws Exception {
    WbpConn c = g.connectKa(window, Bench.PAD_WBP);
    if (c == null) {
      return new JsonObject().put("error", "KA connection failed");
    }
    int id = ++g.stepId;
    Net.waitQuiet(15_000);
    g.onLoop(() -> {
      g.stats.reset(id);
      c.step = id;
      c.seq = Driver.seq + 1;
      c.running = true;
      c.refill();
      return null;
    });
    sleep(Long.parseLong(g.args.getOrDefault("rate-warmup-ms", "1000"))); // warm-up
    long[] a = g.onLoop(() -> new long[] {c.replies, c.errors, g.stats.received});
    long srv0 = Net.cpuTicks(g.serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(g.serverPid);
    long gw0 = Net.runqWaitNs("self");
    long t0 = System.nanoTime();
    sleep(g.rateMs);
    long[] b = g.onLoop(() -> new long[] {c.replies, c.errors, g.stats.received});
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(g.serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(g.serverPid);
    long gw1 = Net.runqWaitNs("self");
    long sent = g.onLoop(() -> {
      c.running = false;
      Driver.seq = c.seq;
      return c.sent;
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && g.onLoop(() -> c.replies) < sent) {
      sleep(20);
    }
    g.settle();
    long[] e = g.onLoop(() -> new long[] {c.replies, c.errors, g.stats.received, g.stats.orderViolations});
    double rate = (b[0] - a[0]) / secs;
    JsonObject r = new JsonObject()
        .put("window", window)
        .put("seconds", Math.round(secs * 1000) / 1000.0)
        .put("requestsPerSec", Math.round(rate))
        .put("sent", sent)
        .put("replies", e[0])
        .put("errors", e[1])
        .put("subscribers", subs.size())
        .put("deliveriesExpected", sent * subs.size())
        .put("deliveriesReceived", e[2])
        .put("orderViolations", e[3])
        .put("serverCpu", cpu(srv1 - srv0, secs))
        .put("generatorCpu", cpu(gen1 - gen0, secs))
        .put("serverRunqWait", waitShare(w1 - w0, secs))
        .put("generatorRunqWait", waitShare(gw1 - gw0, secs));
    log("  KA: %.0f BC/s (window %d), replies %d/%d, errors %d, deliveries %d/%d, CPU server %.0f%% gen %.0f%%",
        rate, window, e[0], sent, e[1], e[2], sent * subs.size(), 100 * r.getDouble("serverCpu"),
        100 * r.getDouble("generatorCpu"));
    g.onLoop(() -> {
      c.close();
      return null;
    });
    return r;
  }

  JsonObject oneShotRate(int concurrency) throws Exception {
    byte[] req = ("req:" + Bench.VHOST + ":" + g.token + ":" + UUID.randomUUID() + "\n\nBC\n" + Bench.CHANNEL
        + "\nm\n{\"s\":0,\"q\":0,\"t\":0,\"p\":\"x\"}\n\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    long[] counts = new long[3]; // ok, failed, inflight: event loop only
    boolean[] running = {true};
    InetSocketAddress backend = g.server(Integer.parseInt(g.args.get("backend-port")));
    Runnable[] launch = new Runnable[1];
    launch[0] = () -> {
      counts[2]++;
      OneShot h = new OneShot(req, ok -> {
        counts[ok ? 0 : 1]++;
        counts[2]--;
        if (running[0]) {
          launch[0].run();
        }
      });
      g.net.bootstrap(h).connect(backend, Net.source(g.connIndex.getAndIncrement())).addListener(f -> {
        if (!f.isSuccess()) {
          counts[1]++;
          counts[2]--;
          if (running[0]) {
            g.net.loop.schedule(launch[0], 1, TimeUnit.MILLISECONDS);
          }
        }
      });
    };
    Net.waitQuiet(15_000);
    g.onLoop(() -> {
      for (int i = 0; i < concurrency; i++) {
        launch[0].run();
      }
      return null;
    });
    sleep(Long.parseLong(g.args.getOrDefault("rate-warmup-ms", "1000"))); // warm-up
    long[] a = g.onLoop(counts::clone);
    long srv0 = Net.cpuTicks(g.serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(g.serverPid);
    long gw0 = Net.runqWaitNs("self");
    long t0 = System.nanoTime();
    sleep(g.rateMs);
    long[] b = g.onLoop(counts::clone);
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(g.serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(g.serverPid);
    long gw1 = Net.runqWaitNs("self");
    g.onLoop(() -> running[0] = false);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && g.onLoop(() -> counts[2]) > 0) {
      sleep(20);
    }
    double rate = (b[0] - a[0]) / secs;
    JsonObject r = new JsonObject()
        .put("concurrency", concurrency)
        .put("seconds", Math.round(secs * 1000) / 1000.0)
        .put("requestsPerSec", Math.round(rate))
        .put("ok", b[0] - a[0])
        .put("failed", b[1] - a[1])
        .put("serverCpu", cpu(srv1 - srv0, secs))
        .put("generatorCpu", cpu(gen1 - gen0, secs))
        .put("serverRunqWait", waitShare(w1 - w0, secs))
        .put("generatorRunqWait", waitShare(gw1 - gw0, secs));
    log("  one-shot: %.0f BC/s (%d in flight), failed %d, CPU server %.0f%% gen %.0f%%", rate, concurrency,
        b[1] - a[1], 100 * r.getDouble("serverCpu"), 100 * r.getDouble("generatorCpu"));
    g.settle();
    return r;
  }
}
