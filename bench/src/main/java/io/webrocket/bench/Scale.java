package io.webrocket.bench;

import io.netty.channel.ChannelFuture;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The scale-out measurement of issue 11 (run by {@code bench/cluster.sh scale}): one node alone
 * and a three-node cluster, all already running, measured side by side in one run.
 *
 * <ol>
 *   <li>{@code --sockets} WebSockets connect and subscribe to one open channel: on the single
 *       node, then all through the cluster's second node. Connects + subscribes per second, and
 *       every node's CPU time and RSS growth while they do.
 *   <li>The same through each node of three (round-robin over the three WebSocket ports).
 *   <li>One persistent WBP connection ({@code KA}) pipelining {@code BC} (window {@code
 *       --window}, {@code --ka-warmup-ms} unmeasured then {@code --ka-ms}) with 4 subscribers: on the single node; in the cluster the
 *       connection is on node 3 and the subscribers on nodes 1 and 2.
 *   <li>{@code --presence} members join one presence channel (round-robin over the three nodes;
 *       all on the single node): joins per second; then one checker per node subscribes and the
 *       {@code subscribers} lists it gets must be identical (same members, same order); then
 *       node 3 is killed with SIGKILL and a checker on node 1 times the {@code :memberLeft} of
 *       every member node 3 held.
 * </ol>
 *
 * Every loop is bounded in count and in time. Servers are identified as {@code
 * ws:backend:admin:pid}.
 */
final class Scale {
  static final String PRESENCE = "presence-scale";

  record Srv(String name, int ws, int be, int admin, String pid) {
    static Srv parse(String name, String spec) {
      String[] p = spec.split(":");
      return new Srv(name, Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), p[3]);
    }
  }

  private final Map<String, String> args;
  private final Net net = new Net();
  private final Stats stats = new Stats();
  private final AtomicInteger connIndex = new AtomicInteger();
  private final Vertx vertx = Vertx.vertx();
  private final String cookie;
  private final Srv single;
  private final List<Srv> nodes = new ArrayList<>();
  private final int sockets;
  private final int concurrency;
  private final int presence;
  private int stepId = 1000;

  private Scale(Map<String, String> args) {
    this.args = args;
    cookie = args.get("cookie");
    single = Srv.parse("single", args.get("single"));
    String[] specs = args.get("cluster").split(",");
    for (int i = 0; i < specs.length; i++) {
      nodes.add(Srv.parse("node" + (i + 1), specs[i]));
    }
    sockets = Integer.parseInt(args.getOrDefault("sockets", "10000"));
    concurrency = Integer.parseInt(args.getOrDefault("concurrency", "256"));
    presence = Integer.parseInt(args.getOrDefault("presence", "1000"));
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      a.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
    }
    Scale s = new Scale(a);
    JsonObject out;
    try {
      out = s.run();
    } finally {
      s.net.close();
      s.vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    Path file = Path.of(a.getOrDefault("out", "scale.json"));
    Files.writeString(file, out.encodePrettily());
    System.out.println("wrote " + file);
  }

  private static void log(String fmt, Object... a) {
    System.out.println(String.format("[%tT] ", System.currentTimeMillis()) + String.format(fmt, a));
  }

  private JsonObject run() throws Exception {
    JsonObject out = new JsonObject()
        .put("date", Instant.now().toString())
        .put("generatorTransport", net.transport())
        .put("loadavgStart", Net.loadAvg())
        .put("sockets", sockets)
        .put("concurrency", concurrency)
        .put("presenceMembers", presence);
    String singleToken = setup(single);
    String clusterToken = setup(nodes.get(0)); // through node 1: the vhost exists on every node before the reply
    List<Srv> all = new ArrayList<>(nodes);
    all.add(single);

    log("== 1. %d WebSockets subscribe to one open channel: single node, then through node 2 of 3", sockets);
    List<String> parts = List.of(args.getOrDefault("parts", "subscribe,ka,presence").split(","));
    out.put("parts", String.join(",", parts));
    if (!parts.contains("subscribe")) {
      return runRest(out, parts, singleToken, clusterToken, all);
    }
    JsonObject subscribe = new JsonObject();
    out.put("subscribe", subscribe);
    subscribe.put("single", part(() -> {
      warmUp(List.of(single));
      return subscribeRound(List.of(single), all);
    }));
    subscribe.put("clusterThroughNode2", part(() -> {
      warmUp(List.of(nodes.get(1)));
      return subscribeRound(List.of(nodes.get(1)), all);
    }));

    log("== 2. the same round-robin through each node of three");
    out.put("subscribeAllNodes", part(() -> {
      warmUp(nodes);
      return subscribeRound(nodes, all);
    }));

    return runRest(out, parts, singleToken, clusterToken, all);
  }

  private JsonObject runRest(JsonObject out, List<String> parts, String singleToken, String clusterToken, List<Srv> all)
      throws Exception {
    if (parts.contains("ka")) {
      ka(out, singleToken, clusterToken, all);
    }
    if (parts.contains("presence")) {
      presence(out, singleToken, clusterToken, all);
    }
    out.put("loadavgEnd", Net.loadAvg());
    try {
      summary(out);
    } catch (RuntimeException e) {
      log("summary incomplete: %s", e);
    }
    return out;
  }

  /**
   * Part 3, in {@code --ka-rounds} rounds (default 3), each measuring the single node and then
   * the cluster with the same processes, so that a round's two rates are taken side by side.
   *
   * <p>Per-node capacity: in the cluster the publishing node (node 3) has CPU 0 to itself, as
   * the single node has; the nodes that only receive (1 and 2) are moved to CPU 1 with the
   * generator for the cluster's measurement and back after it ({@code taskset -a -p}, every
   * thread). So the rate is what one node serving one publisher reaches when the other nodes
   * pay for their own sockets on their own cores, as the brief's "each node pays for its own
   * sockets' work" means; every node's CPU per BC is reported beside it. {@code
   * --ka-shared-core 1} also measures each round's cluster with all three nodes on CPU 0 (the
   * cluster's total CPU cost on one core), reported apart.
   */
  private void ka(JsonObject out, String singleToken, String clusterToken, List<Srv> all) throws Exception {
    int rounds = Integer.parseInt(args.getOrDefault("ka-rounds", "3"));
    boolean sharedCore = "1".equals(args.getOrDefault("ka-shared-core", "0"));
    log("== 3. one KA connection pipelining BC, 4 subscribers, %d rounds", rounds);
    JsonObject ka = new JsonObject();
    out.put("ka", ka);
    JsonArray singles = new JsonArray();
    JsonArray clusters = new JsonArray();
    JsonArray shared = new JsonArray();
    List<Srv> receivers = List.of(nodes.get(0), nodes.get(1));
    for (int r = 1; r <= rounds; r++) {
      log("  -- round %d of %d", r, rounds);
      singles.add(part(() -> kaRate(singleToken, single, List.of(single), all)));
      pin(receivers, "1", 10);
      try {
        clusters.add(part(() -> kaRate(clusterToken, nodes.get(2), receivers, all)));
      } finally {
        pin(receivers, "0", 0);
      }
      if (sharedCore) {
        shared.add(part(() -> kaRate(clusterToken, nodes.get(2), receivers, all)));
      }
    }
    ka.put("rounds", rounds).put("single", singles).put("clusterOnNode3", clusters);
    if (sharedCore) {
      ka.put("clusterOnNode3SharedCore", shared);
    }
    JsonArray ratios = new JsonArray();
    for (int i = 0; i < rounds; i++) {
      Double s = singles.getJsonObject(i).getDouble("bcPerSecond");
      Double c = clusters.getJsonObject(i).getDouble("bcPerSecond");
      if (s != null && c != null && s > 0) {
        ratios.add(round3(c / s));
      }
    }
    ka.put("clusterVsSingleByRound", ratios);
    ka.put("singleMedian", medianOf(singles)).put("clusterOnNode3Median", medianOf(clusters));
    if (sharedCore) {
      ka.put("clusterOnNode3SharedCoreMedian", medianOf(shared));
    }
    log("  KA cluster vs single by round: %s; medians %s vs %s BC/s", ratios.encode(), ka.getValue("clusterOnNode3Median"),
        ka.getValue("singleMedian"));
  }

  /** The median BC rate of a part's rounds (those that ran). */
  private static Long medianOf(JsonArray results) {
    List<Long> rates = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      Long v = results.getJsonObject(i).getLong("bcPerSecond");
      if (v != null) {
        rates.add(v);
      }
    }
    if (rates.isEmpty()) {
      return null;
    }
    rates.sort(null);
    return rates.get(rates.size() / 2);
  }

  /**
   * Moves every thread of the servers to {@code cpus} ({@code taskset -a -p -c}), at {@code nice}
   * (every thread: {@code renice} per thread id); a failure is fatal to the part. On the
   * generator's core the receiving nodes run at nice 10: they get the CPU the generator leaves
   * (it uses a third of it), but do not delay its answer to the server under test, which would
   * make the closed loop wait on them rather than on that server.
   */
  private static void pin(List<Srv> servers, String cpus, int nice) throws Exception {
    for (Srv s : servers) {
      run("taskset", "-a", "-p", "-c", cpus, s.pid());
      List<String> renice = new ArrayList<>(List.of("renice", "-n", Integer.toString(nice), "-p"));
      try (var tasks = Files.list(Path.of("/proc", s.pid(), "task"))) {
        tasks.forEach(t -> renice.add(t.getFileName().toString()));
      }
      run(renice.toArray(String[]::new));
    }
    log("  %s on CPU %s, nice %d", names(servers), cpus, nice);
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed");
    }
  }

  private void presence(JsonObject out, String singleToken, String clusterToken, List<Srv> all) {
    log("== 4. %d presence members join one channel", presence);
    JsonObject pres = new JsonObject();
    out.put("presence", pres);
    pres.put("single", part(() -> presence(singleToken, single, List.of(single), all, null)));
    pres.put("cluster", part(() -> presence(clusterToken, nodes.get(0), nodes, all, nodes.get(nodes.size() - 1))));
  }

  /** One part of the run; a part that fails is recorded as {@code {"error": ...}} and the run goes on. */
  private static JsonObject part(java.util.concurrent.Callable<JsonObject> body) {
    try {
      return body.call();
    } catch (Exception e) {
      log("  part failed: %s", e);
      return new JsonObject().put("error", String.valueOf(e));
    }
  }

  // ---- setup ----

  /** Creates vhost /bench, its open channel and the presence channel through {@code s}'s admin API; returns the token. */
  private String setup(Srv s) throws Exception {
    String base = "http://127.0.0.1:" + s.admin + Bench.VHOST;
    HttpClient http = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();
    HttpResponse<String> r = http.send(post(base), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400 && !r.body().contains("already exists")) {
      throw new IllegalStateException(s.name + ": create vhost: " + r.statusCode() + " " + r.body());
    }
    r = http.send(HttpRequest.newBuilder(URI.create(base)).header("X-WebRocket-Cookie", cookie)
        .timeout(java.time.Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    String token = new JsonObject(r.body()).getJsonObject("vhost").getString("accessToken");
    for (String ch : List.of(Bench.CHANNEL, PRESENCE)) {
      r = http.send(post(base + "/channels/" + ch), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() >= 400 && !r.body().contains("already")) {
        throw new IllegalStateException(s.name + ": open channel " + ch + ": " + r.statusCode() + " " + r.body());
      }
    }
    return token;
  }

  private HttpRequest post(String url) {
    return HttpRequest.newBuilder(URI.create(url)).header("X-WebRocket-Cookie", cookie)
        .timeout(java.time.Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody()).build();
  }

  // ---- 1 and 2: connects + subscribes ----

  private record Opened(List<WsConn> conns, int failed, double seconds) {}

  /** Opens {@code n} subscribed WebSockets round-robin over {@code via}, at most {@link #concurrency} in flight. */
  private Opened open(List<Srv> via, int n, int inFlight, long timeoutMs) throws Exception {
    Semaphore permits = new Semaphore(inFlight);
    ConcurrentLinkedQueue<WsConn> ready = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    Map<String, Integer> reasons = new ConcurrentHashMap<>();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    int started = 0;
    for (int i = 0; i < n; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !permits.tryAcquire(left, TimeUnit.NANOSECONDS)) {
        break;
      }
      started++;
      WsConn c = new WsConn(stats, false, Bench.VHOST, true, (conn, ok) -> {
        if (ok) {
          ready.add(conn);
        } else {
          failed.incrementAndGet();
          reasons.merge(conn.failReason == null ? "?" : conn.failReason, 1, Integer::sum);
          conn.close();
        }
        permits.release();
      });
      Srv s = via.get(i % via.size());
      c.node = i % via.size();
      // Source addresses spread over 127.0.0.2-251 (Net.source): no ephemeral-port exhaustion.
      ChannelFuture f = net.bootstrap(c).connect(new InetSocketAddress("127.0.0.1", s.ws), Net.source(connIndex.getAndIncrement()));
      f.addListener(x -> {
        if (!x.isSuccess()) {
          c.connectFailed();
        }
      });
    }
    long left = deadline - System.nanoTime();
    if (permits.tryAcquire(inFlight, Math.max(left, 0), TimeUnit.NANOSECONDS)) {
      permits.release(inFlight);
    }
    double secs = (System.nanoTime() - start) / 1e9;
    List<WsConn> list = new ArrayList<>(ready);
    if (!reasons.isEmpty()) {
      log("  open: %d failed: %s", failed.get(), reasons);
    }
    return new Opened(list, n - list.size(), secs);
  }

  private void closeAll(List<WsConn> conns) throws Exception {
    WsConn.closeAll(net.loop, conns, 60);
  }


  /**
   * A short unmeasured round so the JIT has compiled the subscribe path before the measured one:
   * 2,000 subscriptions per node it goes through, so that each node of a round-robin round is as
   * warm as the single node is before its own round (with 2,000 in all, each of three nodes got
   * only 667 and its compiler's work was measured in the round).
   */
  /**
   * Unmeasured rounds of 2,000 subscriptions per node through {@code via}, until one leaves the
   * nodes' JIT compilers under a tenth of their CPU (at most 5 rounds): a round measured while
   * its path is still being compiled measures the compiler (half of a node's CPU after a single
   * warm-up round, run 20261207T235503Z), and how far one warm-up round gets differs by node.
   */
  private void warmUp(List<Srv> via) throws Exception {
    int n = Math.min(2_000 * via.size(), sockets);
    for (int round = 1; round <= 5; round++) {
      Map<Srv, long[]> before = probe(via);
      Opened o = open(via, n, concurrency, 120_000);
      Map<Srv, long[]> after = probe(via);
      long cpu = 0;
      long jit = 0;
      for (Srv s : via) {
        cpu += after.get(s)[0] - before.get(s)[0];
        jit += after.get(s)[2] - before.get(s)[2];
      }
      log("  warm-up %d: %d subscribed through %s in %.2f s, JIT %d%% of their CPU", round, o.conns.size(), names(via),
          o.seconds, cpu > 0 ? 100 * jit / cpu : 0);
      closeAll(o.conns);
      settleServers(20_000);
      if (jit * 10 < cpu) {
        return;
      }
    }
  }

  private JsonObject subscribeRound(List<Srv> via, List<Srv> watch) throws Exception {
    settleServers(30_000);
    Map<Srv, long[]> before = probe(watch);
    Opened o = open(via, sockets, concurrency, 300_000);
    Map<Srv, long[]> after = probe(watch);
    double rate = o.conns.size() / o.seconds;
    JsonObject r = new JsonObject()
        .put("via", names(via))
        .put("subscribed", o.conns.size())
        .put("failed", o.failed)
        .put("seconds", round3(o.seconds))
        .put("perSecond", Math.round(rate))
        .put("nodes", costs(before, after, watch));
    log("  through %s: %d subscribed (%d failed) in %.2f s = %.0f/s", names(via), o.conns.size(), o.failed, o.seconds, rate);
    logCosts(r.getJsonObject("nodes"));
    closeAll(o.conns);
    return r;
  }

  /** CPU ticks and RSS (kB) of every watched server. */
  private static Map<Srv, long[]> probe(List<Srv> watch) {
    Map<Srv, long[]> m = new HashMap<>();
    for (Srv s : watch) {
      m.put(s, new long[] {Net.cpuTicks(s.pid), Net.rssKb(s.pid), Net.jitTicks(s.pid)});
    }
    return m;
  }

  private static JsonObject costs(Map<Srv, long[]> before, Map<Srv, long[]> after, List<Srv> watch) {
    JsonObject o = new JsonObject();
    for (Srv s : watch) {
      long[] a = before.get(s);
      long[] b = after.get(s);
      o.put(s.name, new JsonObject()
          .put("cpuSeconds", (b[0] - a[0]) / 100.0)
          .put("jitCpuSeconds", (b[2] - a[2]) / 100.0)
          .put("rssGrowthMb", Math.round((b[1] - a[1]) / 102.4) / 10.0)
          .put("rssMb", Math.round(b[1] / 102.4) / 10.0));
    }
    return o;
  }

  /**
   * Waits at least 2 s and until the watched servers' JIT compilers used less than 2 % of a CPU
   * over the last second (or {@code maxMs} passed); returns the time waited.
   */
  private static long warmUntilJitIdle(List<Srv> watch, long maxMs) throws InterruptedException {
    long start = System.nanoTime();
    long minNs = TimeUnit.MILLISECONDS.toNanos(Math.min(2000, maxMs));
    long maxNs = TimeUnit.MILLISECONDS.toNanos(maxMs);
    long last = jitTicks(watch);
    while (System.nanoTime() - start < maxNs) {
      Thread.sleep(1000);
      long now = jitTicks(watch);
      long delta = now - last;
      last = now;
      if (System.nanoTime() - start >= minNs && delta <= 2) {
        break;
      }
    }
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    log("  warmed up %d ms (JIT compilers %s)", ms, ms >= maxMs ? "still busy: measuring anyway" : "idle");
    return ms;
  }

  private static long jitTicks(List<Srv> watch) {
    long sum = 0;
    for (Srv s : watch) {
      sum += Math.max(0, Net.jitTicks(s.pid));
    }
    return sum;
  }

  /** Adds each node's CPU per measured BC, in ms: in all, and without its JIT compiler's share. */
  private static void perBc(JsonObject nodes, long bcs) {
    for (String n : nodes.fieldNames()) {
      JsonObject c = nodes.getJsonObject(n);
      c.put("cpuMsPerBc", bcs == 0 ? null : Math.round(c.getDouble("cpuSeconds") * 1e6 / bcs) / 1000.0);
      c.put("cpuMsPerBcWithoutJit", bcs == 0 ? null
          : Math.round((c.getDouble("cpuSeconds") - c.getDouble("jitCpuSeconds")) * 1e6 / bcs) / 1000.0);
    }
  }

  private static void logCosts(JsonObject nodes) {
    for (String n : nodes.fieldNames()) {
      JsonObject c = nodes.getJsonObject(n);
      log("    %-7s CPU %6.2f s (JIT compiler %.2f s), RSS %+7.1f MB (now %.0f MB)%s", n, c.getDouble("cpuSeconds"),
          c.getDouble("jitCpuSeconds"), c.getDouble("rssGrowthMb"), c.getDouble("rssMb"),
          c.containsKey("cpuMsPerBc") ? String.format(", %.3f ms per BC (%.3f without JIT)", c.getDouble("cpuMsPerBc"),
              c.getDouble("cpuMsPerBcWithoutJit")) : "");
    }
  }

  /** Waits (bounded) until the servers' CPU has been idle for a second: the previous round's closes are done. */
  private void settleServers(long maxMs) throws Exception {
    List<Srv> all = new ArrayList<>(nodes);
    all.add(single);
    long deadline = System.currentTimeMillis() + maxMs;
    while (System.currentTimeMillis() < deadline) {
      long t0 = 0;
      for (Srv s : all) {
        t0 += Net.cpuTicks(s.pid);
      }
      Thread.sleep(1000);
      long t1 = 0;
      for (Srv s : all) {
        t1 += Net.cpuTicks(s.pid);
      }
      if (t1 - t0 < 15) { // < 15 % of one core summed over the four servers
        return;
      }
    }
    log("  (servers still busy after %d ms; measuring anyway)", maxMs);
  }

  // ---- 3: KA BC rate ----

  private JsonObject kaRate(String token, Srv publisherNode, List<Srv> subscriberNodes, List<Srv> watch) throws Exception {
    int window = Integer.parseInt(args.getOrDefault("window", "256"));
    long ms = Long.parseLong(args.getOrDefault("ka-ms", "4000"));
    // A cold server spends the first seconds (tens of seconds on a loaded machine) of a new path
    // compiling it, on the same pinned core (docs/cluster-benchmark.md, "Cross-node BC: what the
    // profile showed"): warm up until the servers' JIT compilers are idle, at most this long, and
    // report the compiler's CPU apart.
    long warmupMs = Long.parseLong(args.getOrDefault("ka-warmup-ms", "60000"));
    Opened subs = open(subscriberNodes, 4, 4, 30_000);
    if (subs.conns.size() != 4) {
      closeAll(subs.conns);
      return new JsonObject().put("error", "only " + subs.conns.size() + " of 4 subscribers");
    }
    Semaphore done = new Semaphore(0);
    WbpConn c = new WbpConn(Bench.VHOST, token, window, Bench.PAD_WBP, done::release);
    net.bootstrap(c).connect(new InetSocketAddress("127.0.0.1", publisherNode.be), Net.source(connIndex.getAndIncrement()))
        .addListener(f -> {
          if (!f.isSuccess()) {
            done.release();
          }
        });
    done.tryAcquire(10, TimeUnit.SECONDS);
    if (!net.loop.submit(c::isReady).get(10, TimeUnit.SECONDS) || c.lastError != null) {
      closeAll(subs.conns);
      return new JsonObject().put("error", "KA connection failed: " + c.lastError);
    }
    settleServers(20_000);
    int id = ++stepId;
    net.loop.submit(() -> {
      stats.reset(id);
      c.step = id;
      c.seq = Driver.seq + 1;
      c.running = true;
      c.refill();
    }).get(10, TimeUnit.SECONDS);
    long warmedMs = warmUntilJitIdle(watch, warmupMs); // not measured
    long[] a = net.loop.submit(() -> new long[] {c.replies, stats.received}).get(10, TimeUnit.SECONDS);
    Map<Srv, long[]> before = probe(watch);
    long t0 = System.nanoTime();
    Thread.sleep(ms);
    long[] b = net.loop.submit(() -> new long[] {c.replies, stats.received}).get(10, TimeUnit.SECONDS);
    double secs = (System.nanoTime() - t0) / 1e9;
    Map<Srv, long[]> after = probe(watch);
    long sent = net.loop.submit(() -> {
      c.running = false;
      Driver.seq = c.seq;
      return c.sent;
    }).get(10, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline && net.loop.submit(() -> c.replies).get(10, TimeUnit.SECONDS) < sent) {
      Thread.sleep(20);
    }
    long quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < quietUntil
        && System.nanoTime() - net.loop.submit(() -> stats.lastRecvNs).get(10, TimeUnit.SECONDS) < 300_000_000L) {
      Thread.sleep(50);
    }
    long[] e = net.loop.submit(() -> new long[] {c.replies, c.errors, stats.received, stats.orderViolations})
        .get(10, TimeUnit.SECONDS);
    double rate = (b[0] - a[0]) / secs;
    JsonObject r = new JsonObject()
        .put("publisherOn", publisherNode.name)
        .put("subscribersOn", names(subscriberNodes))
        .put("window", window)
        .put("warmupMs", warmedMs)
        .put("seconds", round3(secs))
        .put("bcPerSecond", Math.round(rate))
        .put("sent", sent)
        .put("replies", e[0])
        .put("errors", e[1])
        .put("deliveriesExpected", sent * 4)
        .put("deliveriesReceived", e[2])
        .put("orderViolations", e[3])
        .put("nodes", costs(before, after, watch));
    perBc(r.getJsonObject("nodes"), b[0] - a[0]);
    log("  KA on %s, subscribers on %s: %.0f BC/s, replies %d/%d, errors %d, deliveries %d/%d", publisherNode.name,
        names(subscriberNodes), rate, e[0], sent, e[1], e[2], sent * 4);
    logCosts(r.getJsonObject("nodes"));
    net.loop.submit(c::close).get(10, TimeUnit.SECONDS);
    closeAll(subs.conns);
    return r;
  }

  // ---- 4: presence ----

  /**
   * Single access tokens for {@code uids} from one KA connection to {@code s}, at most 32 requests
   * in flight (bounded: 300 s in all; a timeout says how many had come).
   */
  private List<String> tokens(String vhostToken, Srv s, List<String> uids) throws Exception {
    CompletableFuture<List<String>> result = new CompletableFuture<>();
    List<String> out = java.util.Collections.synchronizedList(new ArrayList<>());
    long t0 = System.nanoTime();
    vertx.createNetClient().connect(s.be, "127.0.0.1").onComplete(ar -> {
      if (ar.failed()) {
        result.completeExceptionally(ar.cause());
        return;
      }
      NetSocket so = ar.result();
      int[] next = {0};
      Runnable send = () -> {
        while (next[0] < uids.size() && next[0] - out.size() < 32) {
          so.write("AT\n" + uids.get(next[0]++) + "\n" + PRESENCE + "\n\r\n\r\n");
        }
      };
      boolean[] ka = {false};
      so.handler(RecordParser.newDelimited("\r\n\r\n", rec -> {
        String[] lines = rec.toString().trim().split("\n");
        if (!ka[0]) {
          ka[0] = true;
          if (!"OK".equals(lines[0].trim())) {
            result.completeExceptionally(new IllegalStateException("KA refused: " + rec));
            so.close();
            return;
          }
          log("  KA accepted by %s; asking for %d tokens", s.name, uids.size());
          send.run();
          return;
        }
        if (!"AT".equals(lines[0].trim()) || lines.length < 2) {
          result.completeExceptionally(new IllegalStateException("AT refused: " + rec));
          so.close();
          return;
        }
        out.add(lines[1].trim());
        if (out.size() == uids.size()) {
          so.close();
          result.complete(out);
        } else {
          send.run();
        }
      }));
      so.write("req:" + Bench.VHOST + ":" + vhostToken + ":" + UUID.randomUUID() + "\n\nKA\n\r\n\r\n");
    });
    try {
      List<String> got = result.get(300, TimeUnit.SECONDS);
      log("  %d single access tokens from %s in %.2f s", got.size(), s.name, (System.nanoTime() - t0) / 1e9);
      return got;
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("only " + out.size() + " of " + uids.size() + " single access tokens from " + s.name
          + " in 300 s" + (out.isEmpty() ? " (no answer to the identity and KA either, unless logged above)" : ""));
    }
  }

  /** One member: auth, subscribe with data, then reports {@code :subscribed}; a watcher also records {@code :memberLeft}. */
  private static final class Member {
    final String uid;
    final int index;
    WebSocket ws;
    JsonObject subscribed;
    final Map<String, Long> left = new ConcurrentHashMap<>();
    final CompletableFuture<JsonObject> joined = new CompletableFuture<>();

    Member(String uid, int index) {
      this.uid = uid;
      this.index = index;
    }
  }

  private void join(WebSocketClient client, Srv s, Member m, String token) {
    client.connect(s.ws, "127.0.0.1", Bench.VHOST).onComplete(ar -> {
      if (ar.failed()) {
        m.joined.completeExceptionally(ar.cause());
        return;
      }
      m.ws = ar.result();
      m.ws.closeHandler(v -> m.joined.completeExceptionally(new IllegalStateException("closed")));
      m.ws.textMessageHandler(text -> {
        if (text.startsWith("{\":memberJoined\"")) {
          return; // the common case: not parsed
        }
        if (text.startsWith("{\":memberLeft\"")) {
          m.left.putIfAbsent(new JsonObject(text).getJsonObject(":memberLeft").getString("uid"), System.nanoTime());
        } else if (text.startsWith("{\":connected\"")) {
          m.ws.writeTextMessage(new JsonObject().put("auth", new JsonObject().put("token", token)).encode());
        } else if (text.startsWith("{\":authenticated\"")) {
          m.ws.writeTextMessage(new JsonObject().put("subscribe", new JsonObject().put("channel", PRESENCE)
              .put("data", new JsonObject().put("i", m.index))).encode());
        } else if (text.startsWith("{\":subscribed\"")) {
          m.subscribed = new JsonObject(text).getJsonObject(":subscribed");
          m.joined.complete(m.subscribed);
        } else if (text.startsWith("{\":error\"")) {
          m.joined.completeExceptionally(new IllegalStateException(text));
        }
      });
    });
  }

  private JsonObject presence(String vhostToken, Srv tokenNode, List<Srv> via, List<Srv> watch, Srv kill) throws Exception {
    String tag = UUID.randomUUID().toString().substring(0, 6);
    List<String> uids = new ArrayList<>();
    for (int i = 0; i < presence; i++) {
      uids.add("m" + tag + "-" + i);
    }
    for (int k = 0; k < via.size(); k++) {
      uids.add("check" + tag + "-" + k);
    }
    List<String> tokens = tokens(vhostToken, tokenNode, uids);
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(presence + 100)
        .setConnectTimeout(10_000));
    List<Member> members = new ArrayList<>();
    settleServers(20_000);
    Map<Srv, long[]> before = probe(watch);
    long t0 = System.nanoTime();
    Semaphore permits = new Semaphore(50);
    int failed = 0;
    for (int i = 0; i < presence; i++) {
      if (!permits.tryAcquire(60, TimeUnit.SECONDS)) {
        break;
      }
      Member m = new Member(uids.get(i), i);
      members.add(m);
      m.joined.whenComplete((x, err) -> permits.release());
      join(client, via.get(i % via.size()), m, tokens.get(i));
    }
    for (Member m : members) {
      try {
        m.joined.get(Math.max(1, 120_000 - (System.nanoTime() - t0) / 1_000_000), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        failed++;
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Map<Srv, long[]> after = probe(watch);
    log("  %d members joined through %s in %.2f s = %.0f/s (%d failed)", members.size() - failed, names(via), secs,
        (members.size() - failed) / secs, failed);
    JsonObject r = new JsonObject()
        .put("via", names(via))
        .put("joined", members.size() - failed)
        .put("failed", failed)
        .put("seconds", round3(secs))
        .put("joinsPerSecond", Math.round((members.size() - failed) / secs))
        .put("nodes", costs(before, after, watch));
    logCosts(r.getJsonObject("nodes"));

    // One checker per node, one after the other: the list each gets must hold every member in join order.
    Thread.sleep(1000);
    List<Member> checkers = new ArrayList<>();
    JsonArray lists = new JsonArray();
    List<List<String>> seen = new ArrayList<>();
    for (int k = 0; k < via.size(); k++) {
      Member c = new Member(uids.get(presence + k), -1 - k);
      checkers.add(c);
      join(client, via.get(k), c, tokens.get(presence + k));
      JsonObject sub;
      try {
        sub = c.joined.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        lists.add(new JsonObject().put("node", via.get(k).name).put("error", String.valueOf(e)));
        seen.add(List.of());
        continue;
      }
      List<String> list = new ArrayList<>();
      for (Object o : sub.getJsonArray("subscribers", new JsonArray())) {
        String uid = ((JsonObject) o).getString("uid");
        if (!uid.startsWith("check")) {
          list.add(uid);
        }
      }
      seen.add(list);
      lists.add(new JsonObject().put("node", via.get(k).name).put("members", list.size()));
    }
    boolean identical = seen.stream().allMatch(l -> l.equals(seen.get(0)));
    boolean complete = !seen.isEmpty() && new java.util.HashSet<>(seen.get(0)).size() == members.size() - failed;
    r.put("lists", lists).put("identical", identical).put("complete", complete);
    log("  subscribers lists: %s; identical on every node: %s; complete: %s", lists.encode(), identical, complete);

    if (kill != null) {
      r.put("kill", killAndWait(members, checkers.get(0), via, kill));
    }
    for (Member m : members) {
      if (m.ws != null && !m.ws.isClosed()) {
        m.ws.close();
      }
    }
    for (Member c : checkers) {
      if (c.ws != null) {
        c.ws.close();
      }
    }
    Thread.sleep(2000);
    client.close();
    return r;
  }

  /** SIGKILL to {@code kill}; times the {@code :memberLeft} of each of its members at {@code watcher} (bounded: 60 s). */
  private JsonObject killAndWait(List<Member> members, Member watcher, List<Srv> via, Srv kill) throws Exception {
    int k = via.indexOf(kill);
    List<String> victims = new ArrayList<>();
    for (Member m : members) {
      if (m.index % via.size() == k && m.subscribed != null) {
        victims.add(m.uid);
      }
    }
    watcher.left.clear();
    log("  kill -9 %s (pid %s), which holds %d members; watching :memberLeft on %s", kill.name, kill.pid, victims.size(),
        via.get(0).name);
    long t0 = System.nanoTime();
    boolean sent = ProcessHandle.of(Long.parseLong(kill.pid)).map(ProcessHandle::destroyForcibly).orElse(false);
    long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && !watcher.left.keySet().containsAll(victims)) {
      Thread.sleep(20);
    }
    int got = (int) victims.stream().filter(watcher.left::containsKey).count();
    long first = victims.stream().map(watcher.left::get).filter(java.util.Objects::nonNull).mapToLong(x -> x).min().orElse(t0);
    long last = victims.stream().map(watcher.left::get).filter(java.util.Objects::nonNull).mapToLong(x -> x).max().orElse(t0);
    long others = watcher.left.keySet().stream().filter(u -> !victims.contains(u) && !u.startsWith("check")).count();
    JsonObject r = new JsonObject()
        .put("killed", kill.name)
        .put("signalSent", sent)
        .put("membersOnKilledNode", victims.size())
        .put("memberLeftReceived", got)
        .put("wrongMemberLeft", others)
        .put("firstLeftSeconds", round3((first - t0) / 1e9))
        .put("allLeftSeconds", got == victims.size() ? round3((last - t0) / 1e9) : null);
    log("  %d/%d :memberLeft in %.2f s (first after %.2f s); %d for members of other nodes", got, victims.size(),
        (last - t0) / 1e9, (first - t0) / 1e9, others);
    return r;
  }

  // ---- report ----

  private void summary(JsonObject out) {
    JsonObject goals = new JsonObject();
    out.put("goals", goals);
    goal(() -> {
      JsonObject s2 = out.getJsonObject("subscribe").getJsonObject("clusterThroughNode2");
      double node2Cpu = s2.getJsonObject("nodes").getJsonObject("node2").getDouble("cpuSeconds");
      JsonObject n1 = s2.getJsonObject("nodes").getJsonObject("node1");
      goals.put("node1CpuShareOfNode2", round3(n1.getDouble("cpuSeconds") / Math.max(0.01, node2Cpu)))
          .put("node1RssGrowthMb", n1.getDouble("rssGrowthMb"));
    });
    goal(() -> goals.put("throughNode2VsSingle", round3(out.getJsonObject("subscribe").getJsonObject("clusterThroughNode2")
        .getDouble("perSecond") / out.getJsonObject("subscribe").getJsonObject("single").getDouble("perSecond"))));
    goal(() -> goals.put("throughAllNodesVsSingle", round3(out.getJsonObject("subscribeAllNodes").getDouble("perSecond")
        / out.getJsonObject("subscribe").getJsonObject("single").getDouble("perSecond"))));
    goal(() -> goals.put("kaClusterVsSingle", round3(out.getJsonObject("ka").getDouble("clusterOnNode3Median")
        / out.getJsonObject("ka").getDouble("singleMedian"))));
    goal(() -> {
      JsonObject pc = out.getJsonObject("presence").getJsonObject("cluster");
      goals.put("presenceListsIdentical", pc.getBoolean("identical") && pc.getBoolean("complete"));
      goals.put("killedNodeMembersLeftSeconds", pc.getJsonObject("kill").getValue("allLeftSeconds"));
    });
    log("== summary (issue 11 goals: node1 CPU < 0.05 of node2 and RSS < 5 MB; rates >= 0.8x; members left <= 10 s)");
    log("%s", goals.encodePrettily());
  }

  /** One goal's figure; missing when its part failed. */
  private static void goal(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      // that part failed: recorded in its own entry
    }
  }

  private static String names(List<Srv> l) {
    return String.join("+", l.stream().map(Srv::name).toList());
  }

  private static double round3(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
