package io.webrocket.bench;

import io.netty.channel.ChannelFuture;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * The load generator. One run measures one target (WebRocket, or a relay variant) and writes a
 * JSON file; {@code bench/run.sh} starts the targets and {@link Report} merges the files.
 *
 * <pre>
 * java -jar webrocket-bench.jar --target webrocket|relay-flush|relay-coalesced --ws-port P
 *   [--backend-port B --admin-port A --cookie C] --server-pid PID --profile quick|full --out FILE
 *   [--ws-ports P0,P1,P2 --server-pid PID0,PID1,PID2] [--server-cpu C]
 *   [--phases LIST] [--ladder D1,D2,...] [--fixed] [--also-at D1,D2] [--no-wbp]
 * </pre>
 *
 * With {@code --ws-ports} (the nodes of a cluster) subscribers are spread round-robin over the
 * ports, while the publishers stay on the first one (the browser publisher is a subscriber on
 * the first port; the WBP publisher uses {@code --backend-port}, the first node's); CPU and
 * run-queue figures are then summed over the {@code --server-pid} list. With
 * {@code --server-cpu C} (the core the servers are pinned to) a step counts as disturbed when
 * other processes took more than 10 % of that core, instead of by the servers' run-queue wait
 * (which, with several servers on one core, is mostly the servers waiting for each other).
 *
 * Every phase is bounded in count and in time.
 */
public final class Bench {
  static final String VHOST = "/bench";
  static final String CHANNEL = "bench";
  /** Pads so a delivered frame's payload is about 100 bytes in every mode. */
  static final int PAD_BROWSER = 4;
  static final int PAD_WBP = 46;
  static final int PAD_RELAY = 54;

  private final Map<String, String> args;
  private final boolean relay;
  private final String target;
  /** One pid, or the comma-separated pids of a cluster's nodes (CPU figures are summed). */
  private final String serverPid;
  /** The first of {@link #serverPid}: memory, thread count, GC name. */
  private final String firstPid;
  private final boolean full;
  /** WebSocket ports: subscribers round-robin, publishers on the first. */
  private final int[] wsPorts;
  /** The core the servers are pinned to, for the disturbance check (-1: use run-queue wait). */
  private final int serverCpu;
  private final Net net = new Net();
  private final Stats stats = new Stats();
  private final AtomicInteger connIndex = new AtomicInteger();
  private int stepId;
  private long unexpectedCloses; // event loop only
  private String token;

  // profile
  private final long stepMs;
  private final long drainMs;
  private final long warmupMs;
  private final int refine;
  private final long rateMs;

  private Bench(Map<String, String> args) {
    this.args = args;
    target = args.getOrDefault("target", "webrocket");
    relay = target.startsWith("relay");
    serverPid = args.get("server-pid");
    firstPid = serverPid == null ? null : serverPid.split(",")[0];
    full = "full".equals(args.getOrDefault("profile", "quick"));
    String ports = args.getOrDefault("ws-ports", args.get("ws-port"));
    wsPorts = java.util.Arrays.stream(ports.split(",")).mapToInt(x -> Integer.parseInt(x.trim())).toArray();
    serverCpu = Integer.parseInt(args.getOrDefault("server-cpu", "-1"));
    stepMs = full ? 8_000 : 3_000;
    drainMs = full ? 3_000 : 2_000;
    warmupMs = full ? 5_000 : 2_000;
    refine = full ? 3 : 2;
    rateMs = full ? 8_000 : 3_000;
  }

  public static void main(String[] argv) throws Exception {
    // --name value, or a bare --flag (--fixed, --no-wbp): one followed by another option or by nothing.
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      boolean bare = i + 1 == argv.length || argv[i + 1].startsWith("--");
      a.put(argv[i].replaceFirst("^--", ""), bare ? "true" : argv[++i]);
    }
    Bench b = new Bench(a);
    JsonObject out;
    try {
      out = b.run();
    } finally {
      b.net.close();
    }
    Path file = Path.of(a.getOrDefault("out", "bench-" + b.target + ".json"));
    Files.writeString(file, out.encodePrettily());
    System.out.println("wrote " + file);
  }

  private JsonObject run() throws Exception {
    JsonObject out = new JsonObject()
        .put("target", target)
        .put("profile", full ? "full" : "quick")
        .put("date", Instant.now().toString())
        .put("generatorTransport", net.transport())
        .put("loadavgStart", Net.loadAvg())
        .put("serverPid", serverPid)
        .put("serverThreads", Net.threads(firstPid))
        .put("serverGc", Net.gc(firstPid));
    if (wsPorts.length > 1) {
      out.put("wsPorts", new JsonArray(java.util.Arrays.stream(wsPorts).boxed().toList()));
    }
    if (serverCpu >= 0) {
      out.put("serverCpuCore", serverCpu);
    }
    log("target %s, profile %s, generator transport %s, load average %s", target, full ? "full" : "quick",
        net.transport(), Net.loadAvg());
    if (!relay) {
      setup();
    }
    // --phases: a comma-separated subset of memory,connect,fanout1000,fanout10000,backend (default
    // all); any fanoutN (N subscribers) may be listed, with the p99 limit N/20 ms (at least 50 ms)
    // unless --p99-limit-ms sets one for all
    List<String> phases = List.of(args.getOrDefault("phases", "memory,connect,fanout1000,fanout10000,backend").split(","));
    if (phases.contains("memory")) {
      out.put("memory", wsPorts.length > 1
          ? new JsonObject().put("error", "not measured with several --ws-ports (one server process per port)")
          : memory(Integer.parseInt(args.getOrDefault("idle", "19000"))));
    }
    if (phases.contains("connect")) {
      out.put("connect", connectRate(Integer.parseInt(args.getOrDefault("connect", "5000")), 256));
    }
    JsonObject fanout = new JsonObject();
    for (String ph : phases) {
      if (ph.matches("fanout[1-9][0-9]*")) {
        int n = Integer.parseInt(ph.substring(6));
        double limit = args.containsKey("p99-limit-ms") ? Double.parseDouble(args.get("p99-limit-ms")) : Math.max(50, n / 20);
        fanout.put(String.valueOf(n), fanout(n, limit));
      }
    }
    out.put("fanout", fanout);
    if (!relay && phases.contains("backend")) {
      out.put("backend", backend());
    }
    out.put("loadavgEnd", Net.loadAvg());
    return out;
  }

  // ---- plumbing ----

  private static void log(String fmt, Object... a) {
    System.out.println(String.format("[%tT] ", System.currentTimeMillis()) + String.format(fmt, a));
  }

  private <T> T onLoop(Callable<T> task) throws Exception {
    return net.loop.submit(task).get(60, TimeUnit.SECONDS);
  }

  private static void sleep(long ms) throws InterruptedException {
    Thread.sleep(ms);
  }

  private InetSocketAddress server(int port) {
    return new InetSocketAddress("127.0.0.1", port);
  }

  /** Creates the vhost and the channel through the admin REST API; keeps the vhost's token. */
  private void setup() throws Exception {
    String base = "http://127.0.0.1:" + args.get("admin-port");
    String cookie = args.get("cookie");
    HttpClient http = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + VHOST))
        .header("X-WebRocket-Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400 && !r.body().contains("already exists")) { // a rerun against the same server
      throw new IllegalStateException("create vhost: " + r.statusCode() + " " + r.body());
    }
    r = http.send(HttpRequest.newBuilder(URI.create(base + VHOST)).header("X-WebRocket-Cookie", cookie).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    token = new JsonObject(r.body()).getJsonObject("vhost").getString("accessToken");
    r = http.send(HttpRequest.newBuilder(URI.create(base + VHOST + "/channels/" + CHANNEL))
        .header("X-WebRocket-Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400 && !r.body().contains("already")) {
      throw new IllegalStateException("open channel: " + r.statusCode() + " " + r.body());
    }
  }

  /** Result of opening a batch of WebSockets. */
  private record Opened(List<WsConn> conns, int failed, double seconds, Histogram connectNs) {}

  /**
   * Opens {@code n} WebSockets with at most {@code concurrency} handshakes in flight; ready means
   * ":connected" (or ":subscribed" when {@code subscribe}), or the 101 for a relay.
   */
  private Opened open(int n, int concurrency, boolean subscribe, long timeoutMs) throws Exception {
    Semaphore inflight = new Semaphore(concurrency);
    ConcurrentLinkedQueue<WsConn> ready = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    Map<String, Integer> reasons = new java.util.concurrent.ConcurrentHashMap<>();
    Histogram lat = new Histogram(60_000_000_000L, 3);
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    int started = 0;
    for (int i = 0; i < n; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !inflight.tryAcquire(left, TimeUnit.NANOSECONDS)) {
        break;
      }
      int node = i % wsPorts.length;
      started++;
      WsConn c = new WsConn(stats, relay, relay ? "/" : VHOST, subscribe && !relay, (conn, ok) -> {
        if (ok) {
          lat.recordValue(Math.min(conn.connectNs(), 59_000_000_000L));
          conn.onUnexpectedClose = x -> unexpectedCloses++;
          ready.add(conn);
        } else {
          failed.incrementAndGet();
          reasons.merge((wsPorts.length > 1 ? "port " + wsPorts[conn.node] + ": " : "")
              + (conn.failReason == null ? "?" : conn.failReason), 1, Integer::sum);
          conn.close();
        }
        inflight.release();
      });
      c.node = node;
      ChannelFuture f = net.bootstrap(c).connect(server(wsPorts[node]), Net.source(connIndex.getAndIncrement()));
      f.addListener(x -> {
        if (!x.isSuccess()) {
          c.connectFailed();
        }
      });
    }
    // all permits back = every started handshake has finished one way or the other
    long left = deadline - System.nanoTime();
    boolean all = inflight.tryAcquire(concurrency, Math.max(left, 0), TimeUnit.NANOSECONDS);
    double secs = (System.nanoTime() - start) / 1e9;
    if (all) {
      inflight.release(concurrency);
    }
    List<WsConn> list = new ArrayList<>(ready);
    int notDone = started - list.size() - failed.get();
    if (started < n || notDone > 0) {
      log("  open: only %d of %d started, %d unfinished at the deadline", started, n, notDone);
    }
    if (!reasons.isEmpty()) {
      log("  open: %d failed: %s", failed.get(), reasons);
    }
    return new Opened(list, failed.get() + (n - started) + Math.max(notDone, 0), secs, lat);
  }

  private void closeAll(List<WsConn> conns) throws Exception {
    onLoop(() -> {
      conns.forEach(WsConn::close);
      return null;
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (WsConn c : conns) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      if (c.ch != null) {
        c.ch.closeFuture().await(TimeUnit.NANOSECONDS.toMillis(left));
      }
    }
  }

  private static double ms(long ns) {
    return Math.round(ns / 1e4) / 100.0;
  }

  // ---- 2. memory per idle WebSocket ----

  private JsonObject memory(int count) throws Exception {
    log("memory: %d idle WebSockets", count);
    Net.jcmd(serverPid, "GC.run");
    sleep(1000);
    long rss0 = Net.rssKb(serverPid);
    long heap0 = Net.heapUsedKb(serverPid);
    Opened o = open(count, 1000, false, 180_000);
    sleep(1000);
    Net.jcmd(serverPid, "GC.run");
    sleep(1000);
    long rss1 = Net.rssKb(serverPid);
    long heap1 = Net.heapUsedKb(serverPid);
    int n = o.conns.size();
    // where the heap goes: the top of the class histogram with the connections open
    JsonArray top = new JsonArray();
    String[] lines = Net.jcmd(serverPid, "GC.class_histogram").split("\n");
    for (int i = 0; i < lines.length && top.size() < 20; i++) {
      if (lines[i].trim().matches("\\d+: +\\d+ +\\d+ .*")) { // "rank: instances bytes class"
        top.add(lines[i].trim().replaceAll("\\s+", " "));
      }
    }
    JsonObject r = new JsonObject()
        .put("connections", n)
        .put("failed", o.failed)
        .put("openSeconds", Math.round(o.seconds * 100) / 100.0)
        .put("rssBeforeKb", rss0)
        .put("rssAfterKb", rss1)
        .put("heapUsedBeforeKb", heap0)
        .put("heapUsedAfterKb", heap1)
        .put("bytesPerConnectionRss", n == 0 ? null : (rss1 - rss0) * 1024 / n)
        .put("bytesPerConnectionHeap", n == 0 || heap0 < 0 ? null : (heap1 - heap0) * 1024 / n)
        .put("classHistogramTop", top);
    log("  %d open (%d failed) in %.1f s; RSS %d -> %d KiB = %s B/conn; heap %d -> %d KiB = %s B/conn",
        n, o.failed, o.seconds, rss0, rss1, r.getValue("bytesPerConnectionRss"), heap0, heap1,
        r.getValue("bytesPerConnectionHeap"));
    closeAll(o.conns);
    sleep(2000);
    return r;
  }

  // ---- 3. connect rate ----

  /**
   * The connect rate in steady state: two warm-up rounds (the server's JIT compiles the
   * handshake path on the one core it has: in a cold round most of that core goes to the C2
   * compiler, a profile showed 57 %), then three measured rounds of {@code count}; the median
   * round is reported, all are kept.
   */
  private JsonObject connectRate(int count, int concurrency) throws Exception {
    for (int i = 0; i < 2; i++) {
      log("connect rate: warm-up round of %d", count);
      Opened warm = open(count, concurrency, false, 120_000);
      log("  warm-up: %.0f/s", warm.conns.size() / warm.seconds);
      closeAll(warm.conns);
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

  private JsonObject connectRound(int count, int concurrency) throws Exception {
    log("connect rate: %d WebSockets, %d in flight", count, concurrency);
    Net.waitQuiet(15_000);
    long cpu0 = Net.cpuTicks(serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(serverPid);
    long gw0 = Net.runqWaitNs("self");
    Opened o = open(count, concurrency, false, 120_000);
    long cpu1 = Net.cpuTicks(serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(serverPid);
    long gw1 = Net.runqWaitNs("self");
    int n = o.conns.size();
    double rate = n / o.seconds;
    JsonObject r = new JsonObject()
        .put("connections", n)
        .put("failed", o.failed)
        .put("concurrency", concurrency)
        .put("seconds", Math.round(o.seconds * 1000) / 1000.0)
        .put("perSecond", Math.round(rate))
        .put("p50Ms", ms(o.connectNs.getValueAtPercentile(50)))
        .put("p99Ms", ms(o.connectNs.getValueAtPercentile(99)))
        .put("serverCpu", cpu(cpu1 - cpu0, o.seconds))
        .put("generatorCpu", cpu(gen1 - gen0, o.seconds))
        .put("serverRunqWait", wait(w1 - w0, o.seconds))
        .put("generatorRunqWait", wait(gw1 - gw0, o.seconds));
    log("  %d connected (%d failed) in %.2f s = %.0f/s, p50 %.2f ms p99 %.2f ms, server CPU %.0f%%, generator CPU %.0f%%",
        n, o.failed, o.seconds, rate, r.getDouble("p50Ms"), r.getDouble("p99Ms"),
        100 * r.getDouble("serverCpu"), 100 * r.getDouble("generatorCpu"));
    closeAll(o.conns);
    sleep(2000);
    return r;
  }

  private static double wait(long ns, double seconds) {
    return Math.round(ns / 1e9 / seconds * 100) / 100.0;
  }

  private static double cpu(long ticks, double seconds) {
    return Math.round(ticks / 100.0 / seconds * 100) / 100.0;
  }

  // ---- 1. fan-out ----

  private JsonObject fanout(int n, double p99LimitMs) throws Exception {
    // --open-concurrency: subscribe handshakes in flight (default 500)
    int concurrency = Integer.parseInt(args.getOrDefault("open-concurrency", "500"));
    log("fan-out N=%d: opening subscribers, %d in flight", n, concurrency);
    Opened o = open(n, concurrency, true, 180_000);
    JsonObject r = new JsonObject().put("subscribers", o.conns.size()).put("failed", o.failed)
        .put("openSeconds", Math.round(o.seconds * 100) / 100.0).put("p99LimitMs", p99LimitMs);
    if (o.conns.size() < n) {
      log("  only %d of %d subscribers; skipping", o.conns.size(), n);
      closeAll(o.conns);
      return r.put("error", "could not open all subscribers");
    }
    log("  %d subscribed in %.1f s", n, o.seconds);
    List<WsConn> conns = o.conns;
    // the browser publisher: a subscriber on the first node (the list is in order of readiness)
    WsConn first = conns.stream().filter(c -> c.node == 0).findFirst().orElse(conns.get(0));
    if (wsPorts.length > 1) {
      int[] per = new int[wsPorts.length];
      conns.forEach(c -> per[c.node]++);
      r.put("subscribersPerNode", new JsonArray(java.util.Arrays.stream(per).boxed().toList()));
      log("  subscribers per node (ports %s): %s; publisher on port %d", java.util.Arrays.toString(wsPorts),
          java.util.Arrays.toString(per), wsPorts[first.node]);
    }
    if (relay) {
      r.put("relay", sweep(conns, first.pad(PAD_RELAY), p99LimitMs, "N=" + n + " relay"));
    } else {
      r.put("browser", sweep(conns, first.pad(PAD_BROWSER), p99LimitMs, "N=" + n + " browser"));
      WbpConn pub = args.containsKey("no-wbp") ? null : connectKa(256, PAD_WBP);
      if (args.containsKey("no-wbp")) {
        log("  WBP publisher skipped (--no-wbp)");
      } else if (pub == null) {
        r.put("wbp", new JsonObject().put("error", "KA connection failed"));
      } else {
        r.put("wbp", sweep(conns, pub, p99LimitMs, "N=" + n + " wbp"));
        onLoop(() -> {
          pub.close();
          return null;
        });
      }
    }
    closeAll(conns);
    sleep(2000);
    return r;
  }

  private WbpConn connectKa(int window, int pad) throws Exception {
    Semaphore done = new Semaphore(0);
    WbpConn c = new WbpConn(VHOST, token, window, pad, done::release);
    net.bootstrap(c).connect(server(Integer.parseInt(args.get("backend-port"))), Net.source(connIndex.getAndIncrement()))
        .addListener(f -> {
          if (!f.isSuccess()) {
            done.release();
          }
        });
    done.tryAcquire(10, TimeUnit.SECONDS);
    boolean ok = onLoop(c::isReady) && c.lastError == null;
    if (!ok) {
      log("  KA connection failed: %s", c.lastError);
      c.close();
      return null;
    }
    return c;
  }

  private static final long[] LADDER = {100_000, 200_000, 400_000, 700_000, 1_000_000, 1_400_000, 2_000_000, 2_800_000, 4_000_000,
      5_600_000, 8_000_000};

  /** The rate ladder in deliveries/s; {@code --ladder 100000,200000} overrides it (for experiments). */
  private long[] ladder() {
    String l = args.get("ladder");
    return l == null ? LADDER : java.util.Arrays.stream(l.split(",")).mapToLong(Long::parseLong).toArray();
  }

  /** Stepped rates until a step fails, a few bisection steps, then one step at half the best. */
  private JsonObject sweep(List<WsConn> conns, Publisher pub, double limitMs, String label) throws Exception {
    int n = conns.size();
    JsonArray steps = new JsonArray();
    long[] ladder = ladder();
    log("  [%s] warm-up %d ms at %d deliveries/s", label, warmupMs, ladder[0]);
    JsonObject warm = step(conns, pub, (double) ladder[0] / n, warmupMs, limitMs, label);
    if (args.containsKey("fixed")) { // experiments: exactly the ladder's steps, nothing else
      for (long d : ladder) {
        steps.add(step(conns, pub, (double) d / n, stepMs, limitMs, label));
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
      JsonObject s = step(conns, pub, (double) d / n, stepMs, limitMs, label);
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
      JsonObject s = step(conns, pub, (double) d / n, stepMs, limitMs, label);
      steps.add(s);
      if (s.getBoolean("pass")) {
        best = d;
        bestStep = s;
      } else {
        fail = d;
      }
    }
    for (int i = 0; i < refine && best > 0 && fail > 0; i++) {
      long mid = round2(Math.sqrt((double) best * fail));
      if (mid <= best || mid >= fail) {
        break;
      }
      JsonObject s = step(conns, pub, (double) mid / n, stepMs, limitMs, label);
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
      halves.add(step(conns, pub, (double) best / 2 / n, stepMs, limitMs, label + " half"));
    }
    JsonObject half = medianByP99(halves);
    // --also-at R1,R2: extra steps at fixed deliveries/s, to compare setups at the same load
    JsonArray also = new JsonArray();
    if (args.containsKey("also-at")) {
      for (String d : args.get("also-at").split(",")) {
        also.add(step(conns, pub, Double.parseDouble(d) / n, stepMs, limitMs, label + " fixed"));
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

  private static final int HALF_RUNS = 3;

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
  private static long round2(double v) {
    double mag = Math.pow(10, Math.floor(Math.log10(v)) - 1);
    return (long) (Math.round(v / mag) * mag);
  }

  /** A step is disturbed when the server's or the generator's threads waited for a CPU this long (share of wall time). */
  private static final double DISTURBED = 0.10;
  private static final int MAX_ATTEMPTS = 4;

  /**
   * One rate step, repeated (up to 4 attempts) while it fails and was disturbed: other processes
   * on the machine ran on the pinned cores. Each attempt first waits (at most 10 s) for a quiet
   * moment. The attempt kept is the first that passes or is
   * undisturbed, else the least disturbed one.
   */
  private JsonObject step(List<WsConn> conns, Publisher pub, double msgsPerSec, long durMs, double limitMs, String label)
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
      log("    disturbed (%s %.0f%%): repeating", serverCpu >= 0 ? "other processes on the servers' core, or generator run-queue wait"
          : "run-queue wait", 100 * dist);
    }
    return kept.put("attempts", attempts).put("waitedForQuietMs", waited);
  }

  /**
   * How much others disturbed a step: the generator's run-queue wait, and either the server's
   * run-queue wait or (with {@code --server-cpu}) the share of the servers' core that other
   * processes used.
   */
  private double disturbance(JsonObject r) {
    double server = serverCpu >= 0 ? r.getDouble("serverCoreForeign") : r.getDouble("serverRunqWait");
    return Math.max(server, r.getDouble("generatorRunqWait"));
  }

  private JsonObject attempt(List<WsConn> conns, Publisher pub, double msgsPerSec, long durMs, double limitMs, String label)
      throws Exception {
    int n = conns.size();
    int id = ++stepId;
    long errs0 = onLoop(pub::errors);
    long closes0 = onLoop(() -> {
      stats.reset(id);
      return unexpectedCloses;
    });
    String load = Net.loadAvg();
    long srv0 = Net.cpuTicks(serverPid);
    long gen0 = Net.cpuTicks("self");
    long srvWait0 = Net.runqWaitNs(serverPid);
    long genWait0 = Net.runqWaitNs("self");
    long core0 = serverCpu >= 0 ? Net.cpuBusyTicks(serverCpu) : -1;
    Driver d = new Driver(pub, msgsPerSec, id);
    long t0 = System.nanoTime();
    onLoop(() -> {
      d.start(net.loop);
      return null;
    });
    sleep(durMs);
    long sent = onLoop(d::stop);
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(serverPid);
    long gen1 = Net.cpuTicks("self");
    long srvWait1 = Net.runqWaitNs(serverPid);
    long genWait1 = Net.runqWaitNs("self");
    long core1 = serverCpu >= 0 ? Net.cpuBusyTicks(serverCpu) : -1;
    long behind = onLoop(() -> d.behind);
    long expected = sent * n;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainMs);
    while (System.nanoTime() < deadline && onLoop(() -> stats.received) < expected) {
      sleep(20);
    }
    JsonObject r = onLoop(() -> {
      var h = stats.latency;
      return new JsonObject()
          .put("step", id)
          .put("targetMsgsPerSec", Math.round(msgsPerSec * 100) / 100.0)
          .put("targetDeliveriesPerSec", Math.round(msgsPerSec * n))
          .put("seconds", Math.round(secs * 1000) / 1000.0)
          .put("sent", sent)
          .put("sentPerSec", Math.round(sent / secs * 10) / 10.0)
          .put("publisherBehindTicks", behind)
          .put("expected", expected)
          .put("received", stats.received)
          .put("loss", expected - stats.received)
          .put("orderViolations", stats.orderViolations)
          .put("errors", stats.errors + pub.errors() - errs0)
          .put("lastError", stats.lastError)
          .put("unexpectedCloses", unexpectedCloses - closes0)
          .put("staleDeliveries", stats.stale)
          .put("deliveriesPerSec", Math.round(stats.received / secs))
          .put("payloadBytes", stats.lastPayloadBytes)
          .put("p50Ms", ms(h.getValueAtPercentile(50)))
          .put("p99Ms", ms(h.getValueAtPercentile(99)))
          .put("p999Ms", ms(h.getValueAtPercentile(99.9)))
          .put("maxMs", ms(h.getMaxValue()));
    });
    r.put("serverCpu", cpu(srv1 - srv0, secs)).put("generatorCpu", cpu(gen1 - gen0, secs)).put("loadavg", load)
        .put("serverRunqWait", Math.round((srvWait1 - srvWait0) / 1e9 / secs * 100) / 100.0)
        .put("generatorRunqWait", Math.round((genWait1 - genWait0) / 1e9 / secs * 100) / 100.0)
        // server CPU time per delivery: a capacity figure that holds even when the core was shared
        .put("serverCpuNsPerDelivery", stats.received == 0 ? null : Math.round((srv1 - srv0) * 1e7 / r.getLong("received")));
    if (serverCpu >= 0) {
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
        serverCpu >= 0 ? String.format(", others on server core %.0f%%", 100 * r.getDouble("serverCoreForeign")) : "",
        pass ? "PASS" : "FAIL");
    settle();
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
  private long awaitServerIdle() throws Exception {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      long c0 = Net.cpuTicks(serverPid);
      sleep(500);
      if (cpu(Net.cpuTicks(serverPid) - c0, 0.5) < 0.3) {
        break;
      }
    }
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    if (waited > 1_000) {
      log("    the server stayed busy after the step: waited %.1f s for it to go idle", waited / 1000.0);
    }
    return waited;
  }

  /** Waits until nothing has arrived for 300 ms (bounded), so a step does not spill into the next. */
  private void settle() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      long quiet = onLoop(() -> System.nanoTime() - stats.lastRecvNs);
      if (quiet > 300_000_000L) {
        return;
      }
      sleep(50);
    }
  }

  // ---- 4. backend publishing ----

  private JsonObject backend() throws Exception {
    log("backend: KA pipelined BC and one-shot BC, 4 subscribers");
    Opened o = open(4, 4, true, 30_000);
    JsonObject r = new JsonObject();
    r.put("ka", kaRate(o.conns, 512));
    r.put("oneShot", oneShotRate(32));
    closeAll(o.conns);
    return r;
  }

  private JsonObject kaRate(List<WsConn> subs, int window) throws Exception {
    WbpConn c = connectKa(window, PAD_WBP);
    if (c == null) {
      return new JsonObject().put("error", "KA connection failed");
    }
    int id = ++stepId;
    Net.waitQuiet(15_000);
    onLoop(() -> {
      stats.reset(id);
      c.step = id;
      c.seq = Driver.seq + 1;
      c.running = true;
      c.refill();
      return null;
    });
    sleep(Long.parseLong(args.getOrDefault("rate-warmup-ms", "1000"))); // warm-up
    long[] a = onLoop(() -> new long[] {c.replies, c.errors, stats.received});
    long srv0 = Net.cpuTicks(serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(serverPid);
    long gw0 = Net.runqWaitNs("self");
    long t0 = System.nanoTime();
    sleep(rateMs);
    long[] b = onLoop(() -> new long[] {c.replies, c.errors, stats.received});
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(serverPid);
    long gw1 = Net.runqWaitNs("self");
    long sent = onLoop(() -> {
      c.running = false;
      Driver.seq = c.seq;
      return c.sent;
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && onLoop(() -> c.replies) < sent) {
      sleep(20);
    }
    settle();
    long[] e = onLoop(() -> new long[] {c.replies, c.errors, stats.received, stats.orderViolations});
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
        .put("serverRunqWait", wait(w1 - w0, secs))
        .put("generatorRunqWait", wait(gw1 - gw0, secs));
    log("  KA: %.0f BC/s (window %d), replies %d/%d, errors %d, deliveries %d/%d, CPU server %.0f%% gen %.0f%%",
        rate, window, e[0], sent, e[1], e[2], sent * subs.size(), 100 * r.getDouble("serverCpu"),
        100 * r.getDouble("generatorCpu"));
    onLoop(() -> {
      c.close();
      return null;
    });
    return r;
  }

  private JsonObject oneShotRate(int concurrency) throws Exception {
    byte[] req = ("req:" + VHOST + ":" + token + ":" + UUID.randomUUID() + "\n\nBC\n" + CHANNEL
        + "\nm\n{\"s\":0,\"q\":0,\"t\":0,\"p\":\"x\"}\n\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    long[] counts = new long[3]; // ok, failed, inflight: event loop only
    boolean[] running = {true};
    InetSocketAddress backend = server(Integer.parseInt(args.get("backend-port")));
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
      net.bootstrap(h).connect(backend, Net.source(connIndex.getAndIncrement())).addListener(f -> {
        if (!f.isSuccess()) {
          counts[1]++;
          counts[2]--;
          if (running[0]) {
            net.loop.schedule(launch[0], 1, TimeUnit.MILLISECONDS);
          }
        }
      });
    };
    Net.waitQuiet(15_000);
    onLoop(() -> {
      for (int i = 0; i < concurrency; i++) {
        launch[0].run();
      }
      return null;
    });
    sleep(Long.parseLong(args.getOrDefault("rate-warmup-ms", "1000"))); // warm-up
    long[] a = onLoop(counts::clone);
    long srv0 = Net.cpuTicks(serverPid);
    long gen0 = Net.cpuTicks("self");
    long w0 = Net.runqWaitNs(serverPid);
    long gw0 = Net.runqWaitNs("self");
    long t0 = System.nanoTime();
    sleep(rateMs);
    long[] b = onLoop(counts::clone);
    double secs = (System.nanoTime() - t0) / 1e9;
    long srv1 = Net.cpuTicks(serverPid);
    long gen1 = Net.cpuTicks("self");
    long w1 = Net.runqWaitNs(serverPid);
    long gw1 = Net.runqWaitNs("self");
    onLoop(() -> running[0] = false);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && onLoop(() -> counts[2]) > 0) {
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
        .put("serverRunqWait", wait(w1 - w0, secs))
        .put("generatorRunqWait", wait(gw1 - gw0, secs));
    log("  one-shot: %.0f BC/s (%d in flight), failed %d, CPU server %.0f%% gen %.0f%%", rate, concurrency,
        b[1] - a[1], 100 * r.getDouble("serverCpu"), 100 * r.getDouble("generatorCpu"));
    settle();
    return r;
  }
}
