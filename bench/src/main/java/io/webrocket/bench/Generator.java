package io.webrocket.bench;

import io.netty.channel.ChannelFuture;
import io.vertx.core.json.JsonObject;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * What every phase of a {@link Bench} run shares: the options, the generator's event loop and
 * its {@link Stats}, the target's ports and pids, the profile's timings, and the plumbing
 * (opening and closing WebSockets, the KA connection, waiting for quiet, CPU figures).
 */
final class Generator {
  final Map<String, String> args;
  final boolean relay;
  final String target;
  /** One pid, or the comma-separated pids of a cluster's nodes (CPU figures are summed). */
  final String serverPid;
  /** The first of {@link #serverPid}: memory, thread count, GC name. */
  final String firstPid;
  final boolean full;
  /** WebSocket ports: subscribers round-robin, publishers on the first. */
  final int[] wsPorts;
  /** The core the servers are pinned to, for the disturbance check (-1: use run-queue wait). */
  final int serverCpu;
  final Net net = new Net();
  final Stats stats = new Stats();
  final AtomicInteger connIndex = new AtomicInteger();
  int stepId;
  long unexpectedCloses; // event loop only
  String token;

  // profile
  final long stepMs;
  final long drainMs;
  final long warmupMs;
  final int refine;
  final long rateMs;

  Generator(Map<String, String> args) {
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

  // ---- plumbing ----

  static void log(String fmt, Object... a) {
    System.out.println(String.format("[%tT] ", System.currentTimeMillis()) + String.format(fmt, a));
  }

  <T> T onLoop(Callable<T> task) throws Exception {
    return net.loop.submit(task).get(60, TimeUnit.SECONDS);
  }

  static void sleep(long ms) throws InterruptedException {
    Thread.sleep(ms);
  }

  InetSocketAddress server(int port) {
    return new InetSocketAddress("127.0.0.1", port);
  }

  /** Creates the vhost and the channel through the admin REST API; keeps the vhost's token. */
  void setup() throws Exception {
    String base = "http://127.0.0.1:" + args.get("admin-port");
    String cookie = args.get("cookie");
    HttpClient http = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + Bench.VHOST))
        .header("X-WebRocket-Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400 && !r.body().contains("already exists")) { // a rerun against the same server
      throw new IllegalStateException("create vhost: " + r.statusCode() + " " + r.body());
    }
    r = http.send(HttpRequest.newBuilder(URI.create(base + Bench.VHOST)).header("X-WebRocket-Cookie", cookie).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    token = new JsonObject(r.body()).getJsonObject("vhost").getString("accessToken");
    r = http.send(HttpRequest.newBuilder(URI.create(base + Bench.VHOST + "/channels/" + Bench.CHANNEL))
        .header("X-WebRocket-Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 400 && !r.body().contains("already")) {
      throw new IllegalStateException("open channel: " + r.statusCode() + " " + r.body());
    }
  }

  /** An admin API call with the cookie; the response (any status). */
  HttpResponse<String> admin(String method, String path, String body) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(5)).build();
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + args.get("admin-port") + path))
        .header("X-WebRocket-Cookie", args.get("cookie")).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Result of opening a batch of WebSockets. */
  record Opened(List<WsConn> conns, int failed, double seconds, Histogram connectNs) {}

  /**
   * Opens {@code n} WebSockets with at most {@code concurrency} handshakes in flight; ready means
   * ":connected" (or ":subscribed" when {@code subscribe}), or the 101 for a relay.
   */
  Opened open(int n, int concurrency, boolean subscribe, long timeoutMs) throws Exception {
    return open(n, concurrency, subscribe, timeoutMs, null);
  }

  /** As {@link #open(int, int, boolean, long)}, each subscribe with {@code "since": since} (JSON) when not null. */
  Opened open(int n, int concurrency, boolean subscribe, long timeoutMs, String since) throws Exception {
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
      WsConn c = new WsConn(stats, relay, relay ? "/" : Bench.VHOST, subscribe && !relay, (conn, ok) -> {
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
      c.since = since;
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

  void closeAll(List<WsConn> conns) throws Exception {
    WsConn.closeAll(net.loop, conns, 30);
  }


  static double ms(long ns) {
    return Math.round(ns / 1e4) / 100.0;
  }

  static double waitShare(long ns, double seconds) {
    return Math.round(ns / 1e9 / seconds * 100) / 100.0;
  }

  static double cpu(long ticks, double seconds) {
    return Math.round(ticks / 100.0 / seconds * 100) / 100.0;
  }

  WbpConn connectKa(int window, int pad) throws Exception {
    Semaphore done = new Semaphore(0);
    WbpConn c = new WbpConn(Bench.VHOST, token, window, pad, done::release);
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

  /** Waits until nothing has arrived for 300 ms (bounded), so a step does not spill into the next. */
  void settle() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      long quiet = onLoop(() -> System.nanoTime() - stats.lastRecvNs);
      if (quiet > 300_000_000L) {
        return;
      }
      sleep(50);
    }
  }
}
