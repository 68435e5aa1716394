package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.Scrape;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile and broken clients, each bounded in count and time: garbage on both ports, half
 * frames, readers that never read, connection churn, lazy workers, an admin flood. After each,
 * fresh clients are served.
 */
class AbuseTest {
  static final long SEED = Long.getLong("webrocket.seed", System.nanoTime());
  static final long WORKER_EXPIRY_MS = 1_000;
  static final long BROKER_HB_MS = 100;
  static TestNode node;
  static int vhosts;

  @BeforeAll
  static void startNode() {
    node = TestNode.start(new JsonObject()
        // Garbage within the rate limits: this is about content, not volume.
        .put("limits", new JsonObject()
            .put("messagesPerSecond", 1_000_000).put("messagesBurst", 1_000_000)
            .put("backendRequestsPerSecond", 10_000_000).put("backendRequestsBurst", 10_000_000))
        .put("backend", new JsonObject()
            // Long enough that Served's backend client, idle while its browser waits behind a
            // pipelining abuser's backlog (seconds on a loaded 2-core machine), is not cut off.
            .put("idleTimeoutMs", 5_000)
            .put("workerExpiryMs", WORKER_EXPIRY_MS)
            .put("heartbeatIntervalMs", BROKER_HB_MS)));
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  @AfterEach
  void freshClientsAreServed() {
    Served.freshClientsAreServed(node);
  }

  static String vhost() {
    return "/abuse" + (++vhosts);
  }

  static String seed() {
    return " (seed " + SEED + ", -Dwebrocket.seed to repeat)";
  }

  // ---- garbage ----

  @Test
  void aThousandGarbageMessagesEachGet400AndTheSocketStaysUsable() {
    String v = vhost();
    node.createVhost(v);
    node.openChannel(v, "c");
    Random rnd = new Random(SEED);
    try (WsClient c = node.ws(v)) {
      for (int i = 0; i < 1_000; i++) {
        if (i % 10 == 9) {
          byte[] b = new byte[rnd.nextInt(200)];
          rnd.nextBytes(b);
          c.sendBinary(Buffer.buffer(b));
        } else {
          c.send(garbage(rnd));
        }
      }
      for (int i = 0; i < 1_000; i++) {
        c.expectError(400);
      }
      c.expectSilence(100);
      c.subscribe("c");
    }
  }

  static final String VALID = "{\"subscribe\":{\"channel\":\"c\",\"data\":{\"a\":[1,2,{\"b\":null}]}}}";

  /** Text that is not a WWFP request: broken JSON, wrong shapes, unknown events, bad field types. */
  static String garbage(Random rnd) {
    switch (rnd.nextInt(12)) {
      case 0:
        return VALID.substring(0, rnd.nextInt(VALID.length())); // truncated
      case 1: {
        StringBuilder b = new StringBuilder();
        for (int i = rnd.nextInt(100); i > 0; i--) {
          b.append((char) (32 + rnd.nextInt(95)));
        }
        return b.toString();
      }
      case 2: {
        StringBuilder b = new StringBuilder();
        for (int i = rnd.nextInt(60); i > 0; i--) {
          b.appendCodePoint(rnd.nextInt(4) == 0 ? 0x1F600 + rnd.nextInt(50) : 0xA0 + rnd.nextInt(0xD000));
        }
        return b.toString();
      }
      case 3:
        return List.of("1", "\"x\"", "[]", "[{}]", "null", "true", "{}", "", " ", "{\"a\":{}}{}").get(rnd.nextInt(10));
      case 4:
        return "{\"subscribe\":{\"channel\":\"c\"},\"auth\":{\"token\":\"x\"}}"; // two events
      case 5:
        return "{\"subscribe\":" + List.of("1", "\"c\"", "[]", "null", "true").get(rnd.nextInt(5)) + "}";
      case 6: {
        int depth = 100 + rnd.nextInt(5_000);
        return rnd.nextBoolean() ? "{\"subscribe\":" + "[".repeat(depth) + "]".repeat(depth) + "}"
            : "{\"subscribe\":" + "{\"a\":".repeat(depth) + "{}" + "}".repeat(depth) + "}";
      }
      case 7:
        return "{\"" + UUID.randomUUID() + "\":{}}"; // unknown event
      case 8:
        return "{\"subscribe\":{\"channel\":\"c\",\"channel\":\"d\"}}"; // duplicate key
      case 9:
        return List.of("{\"subscribe\":{\"channel\":123}}", "{\"auth\":{\"token\":5}}", "{\"auth\":{}}",
            "{\"broadcast\":{\"channel\":\"c\"}}", "{\"broadcast\":{\"channel\":\"c\",\"event\":\":x\"}}",
            "{\"trigger\":{\"event\":7}}", "{\"subscribe\":{\"channel\":\"c\",\"hidden\":\"yes\"}}",
            "{\"unsubscribe\":{\"channel\":\"c\",\"data\":[]}}").get(rnd.nextInt(8));
      case 10:
        return "{\"x\":{\"n\":1e99999999,\"m\":-" + "9".repeat(1 + rnd.nextInt(5_000)) + "}}";
      default: {
        char[] mangled = VALID.toCharArray();
        for (int i = 1 + rnd.nextInt(3); i > 0; i--) {
          String noise = "{}[]\":,\\ x";
          mangled[rnd.nextInt(mangled.length)] = noise.charAt(rnd.nextInt(noise.length()));
        }
        String s = new String(mangled);
        return s.equals(VALID) || isValidRequest(s) ? "}" : s;
      }
    }
  }

  /** A mangled message that happens to be a valid subscribe (rare) is not garbage. */
  static boolean isValidRequest(String s) {
    try {
      io.webrocket.protocol.Wwfp.Message m = io.webrocket.protocol.Wwfp.decode(s);
      return m.event().equals("subscribe");
    } catch (io.webrocket.protocol.Wwfp.MalformedException e) {
      return false;
    }
  }

  @Test
  void brokenFramesCloseTheSocketWithAProtocolStatus() throws Exception {
    String v = vhost();
    node.createVhost(v);
    // {frame bytes, expected close status}
    byte[] badUtf8 = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF};
    byte[] unmaskedText = {(byte) 0x81, 0x02, 'h', 'i'};
    Map<String, Object[]> cases = Map.of(
        "invalid UTF-8 in a text frame", new Object[] {RawWs.frame(1, badUtf8), 1007},
        "an unmasked client frame", new Object[] {unmaskedText, 1002},
        "a reserved opcode", new Object[] {RawWs.frame(3, new byte[] {1}), 1002},
        "a continuation with nothing to continue", new Object[] {RawWs.frame(0, new byte[] {1}), 1002},
        "a fragmented ping", new Object[] {RawWs.frame(false, 9, new byte[] {1}), 1002});
    for (var e : cases.entrySet()) {
      try (RawWs ws = RawWs.connect(node.wsPort, v, null, 0)) {
        ws.readText();
        ws.sendRaw((byte[]) e.getValue()[0]);
        int status;
        try {
          status = ws.awaitClose();
        } catch (AssertionError notClosed) {
          throw new AssertionError(e.getKey() + ": " + notClosed.getMessage());
        }
        assertEquals(e.getValue()[1], status, e.getKey());
      }
    }
  }

  @Test
  void randomBytesAndTruncatedMessagesOnTheBackendPort() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    String valid = WbpClient.message(WbpClient.identity("req", v, token), "BC", "c", "e", "{\"a\":1}");
    Random rnd = new Random(SEED);
    byte[] alphabet = "\r\n:req/abc0123456789-{}\"".getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < 200; i++) {
      byte[] junk = new byte[1 + rnd.nextInt(4_096)];
      for (int k = 0; k < junk.length; k++) {
        junk[k] = rnd.nextInt(3) == 0 ? alphabet[rnd.nextInt(alphabet.length)] : (byte) rnd.nextInt(256);
      }
      if (i % 4 == 0) {
        System.arraycopy("\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0, junk, junk.length - Math.min(4, junk.length),
            Math.min(4, junk.length)); // often enough a complete (nonsense) message
      }
      try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
        s.getOutputStream().write(junk);
        s.getOutputStream().flush();
      }
    }
    List<WbpClient> silent = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        byte[] cut = valid.substring(0, rnd.nextInt(valid.length() - 1)).getBytes(StandardCharsets.UTF_8);
        WbpClient c = node.wbp();
        c.write(cut);
        if (i % 10 == 0) {
          silent.add(c); // truncated and then silent: the idle timeout ends it
        } else {
          c.close();
        }
      }
      for (WbpClient c : silent) {
        c.setTimeout(10_000);
        c.readToEnd(); // the broker closes it (5 s idle timeout); throws if it does not within 10 s
      }
    } finally {
      silent.forEach(WbpClient::close);
    }
  }

  // ---- silent and non-reading peers ----

  @Test
  void aSocketThatSendsHalfAFrameAndGoesSilentIsClosedByTheLivenessCheck() throws Exception {
    long pingMs = 300;
    try (TestNode n = TestNode.start(new JsonObject().put("websocket", new JsonObject().put("pingIntervalMs", pingMs)))) {
      n.createVhost("/half");
      try (RawWs ws = RawWs.connect(n.wsPort, "/half", null, 0)) {
        ws.readText();
        byte[] whole = RawWs.frame(1, "{\"pong\":{}}".getBytes(StandardCharsets.UTF_8));
        ws.sendRaw(java.util.Arrays.copyOf(whole, 5)); // header, mask, one byte of eleven
        long start = System.nanoTime();
        ws.timeout((int) (10 * pingMs));
        int status;
        int pings = 0;
        while (true) {
          RawWs.Frame f;
          try {
            f = ws.readFrame();
          } catch (EOFException e) {
            status = -1;
            break;
          }
          if (f.opcode() == 8) {
            status = f.closeStatus();
            break;
          }
          pings += f.opcode() == 9 ? 1 : 0; // never answered
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(1001, status);
        assertTrue(pings >= 1 && ms <= 5 * pingMs, "closed after " + ms + " ms and " + pings + " pings");
      }
      assertTrue(Await.within(5_000, () -> Scrape.sum(n, "webrocket_websocket_connections") == 0));
      Served.freshClientsAreServed(n);
    }
  }

  @Test
  void aPipelinerThatNeverReadsIsStoppedAndTheNodeServesOthers() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    node.openChannel(v, "c");
    long heapBefore = Served.usedHeapAfterGc();
    byte[] chunk = WbpClient.message(null, "OC", "c").repeat(4_096).getBytes(StandardCharsets.US_ASCII);
    long limit = 64L << 20; // what it would send if never stopped: 64 MB, ~5M requests
    AtomicLong written = new AtomicLong();
    Socket s = new Socket("127.0.0.1", node.backendPort);
    ExecutorService writer = Executors.newSingleThreadExecutor();
    try {
      OutputStream out = s.getOutputStream();
      out.write(WbpClient.message(WbpClient.identity("req", v, token), "KA").getBytes(StandardCharsets.US_ASCII));
      Future<?> writing = writer.submit(() -> {
        try {
          while (written.get() < limit) {
            out.write(chunk);
            written.addAndGet(chunk.length);
          }
        } catch (IOException closed) {
          // the test closed the socket
        }
        return null;
      });
      // Wait until the writer is stuck: the broker stopped reading.
      long last = -1;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < deadline && written.get() != last && !writing.isDone()) {
        last = written.get();
        Await.pause(500);
      }
      assertFalse(writing.isDone(), "the broker read all " + (limit >> 20) + " MB without being answered");
      // Meanwhile everyone else is served.
      Served.freshClientsAreServed(node);
      long heapAfter = Served.usedHeapAfterGc();
      long growth = heapAfter - heapBefore;
      System.out.printf("pipeliner: stopped after %.1f MB written (%d requests); used heap %d MB -> %d MB (growth %+.1f MB)%n",
          written.get() / 1048576.0, written.get() / (chunk.length / 4_096), heapBefore >> 20, heapAfter >> 20, growth / 1048576.0);
      assertTrue(growth < 32L << 20, "heap growth " + (growth >> 20) + " MB");
    } finally {
      s.close();
      writer.shutdownNow();
      assertTrue(writer.awaitTermination(5, TimeUnit.SECONDS));
    }
  }

  // ---- churn ----

  @Test
  void tenThousandConnectDisconnectCyclesLeaveNothingBehind() throws Exception {
    String v = vhost();
    node.createVhost(v);
    node.openChannel(v, "c");
    cycles(v, 200); // warm-up
    assertTrue(Await.within(10_000, () -> Scrape.sum(node, "webrocket_websocket_connections") == 0));
    long heapBefore = Served.usedHeapAfterGc();
    long start = System.nanoTime();
    cycles(v, 10_000);
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertTrue(Await.within(10_000, () -> Scrape.sum(node, "webrocket_websocket_connections") == 0),
        () -> "open connections: " + Scrape.sum(node, "webrocket_websocket_connections"));
    assertEquals(0, Scrape.sum(node, "webrocket_subscriptions"), 0.0);
    assertEquals(0, node.admin().json(v + "/channels/c").getJsonObject("channel").getJsonObject("subscribers").getInteger("size"));
    long heapAfter = Served.usedHeapAfterGc();
    long growth = heapAfter - heapBefore;
    System.out.printf("churn: 10,000 connect/disconnect cycles in %d ms; used heap %d MB -> %d MB (growth %+.1f MB)%n",
        ms, heapBefore >> 20, heapAfter >> 20, growth / 1048576.0);
    assertTrue(growth < 16L << 20, "heap growth " + (growth >> 20) + " MB");
  }

  /**
   * {@code count} connections over 4 threads, each: upgrade, {@code :connected}, and then one
   * of: a reset, a subscribe and a reset, a clean close handshake. Bounded to 60 s.
   */
  static void cycles(String vhost, int count) throws Exception {
    AtomicInteger next = new AtomicInteger();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    try {
      for (int t = 0; t < 4; t++) {
        pool.submit(() -> {
          int i;
          while ((i = next.getAndIncrement()) < count && System.nanoTime() < deadline && failures.isEmpty()) {
            try {
              cycle(vhost, i);
            } catch (Throwable e) {
              failures.add(e);
            }
          }
        });
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(70, TimeUnit.SECONDS));
    } finally {
      pool.shutdownNow();
    }
    assertEquals(List.of(), failures);
    assertTrue(next.get() >= count, "only " + next.get() + " cycles within 60 s");
  }

  static void cycle(String vhost, int i) throws IOException {
    RawWs ws = RawWs.connect(node.wsPort, vhost, null, 0);
    try {
      if (ws.status != 101) {
        throw new AssertionError("cycle " + i + ": upgrade answered " + ws.status);
      }
      ws.readText();
      switch (i % 4) {
        case 0, 1 -> ws.socket.setSoLinger(true, 0); // reset: no TIME_WAIT left on this side
        case 2 -> {
          ws.sendText("{\"subscribe\":{\"channel\":\"c\"}}");
          ws.readText();
          ws.socket.setSoLinger(true, 0);
        }
        default -> {
          ws.sendRaw(RawWs.frame(8, new byte[] {0x03, (byte) 0xE8}));
          assertEquals(1000, ws.awaitClose());
        }
      }
    } finally {
      ws.close();
    }
  }

  // ---- workers ----

  @Test
  void aWorkerThatNeverHeartbeatsIsDroppedAndTriggersGoElsewhere() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    String at;
    try (WbpClient c = node.wbp()) {
      at = c.request(WbpClient.identity("req", v, token), "AT", "alice", ".*").get(1);
    }
    LinkedBlockingQueue<List<String>> lazyInbox = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<List<String>> goodInbox = new LinkedBlockingQueue<>();
    WbpClient lazy = node.wbp();
    WbpClient good = node.wbp();
    var beat = Executors.newSingleThreadScheduledExecutor();
    ExecutorService readers = Executors.newFixedThreadPool(2);
    try (WsClient browser = node.ws(v)) {
      browser.auth(at);
      String goodId = "dlr:" + v + ":" + token + ":" + UUID.randomUUID();
      good.write(WbpClient.message(goodId, "RD"));
      assertEquals("HB", good.read().get(0));
      beat.scheduleAtFixedRate(() -> {
        synchronized (good) {
          good.write(WbpClient.message(null, "HB"));
        }
      }, 0, 150, TimeUnit.MILLISECONDS);
      readers.submit(() -> readLoop(good, goodInbox));

      long readyAt = System.nanoTime();
      lazy.write(WbpClient.message("dlr:" + v + ":" + token + ":" + UUID.randomUUID(), "RD"));
      assertEquals("HB", lazy.read().get(0));
      CompletableFuture<Long> quitAt = new CompletableFuture<>();
      readers.submit(() -> {
        readLoop(lazy, lazyInbox);
        quitAt.complete(System.nanoTime());
      });
      // While it is listed it takes its share of the triggers, and never answers.
      for (int i = 0; i < 10; i++) {
        browser.send("trigger", new JsonObject().put("event", "early").put("data", new JsonObject().put("i", i)));
      }
      long gone = quitAt.get(WORKER_EXPIRY_MS + 3_000, TimeUnit.MILLISECONDS);
      long ms = TimeUnit.NANOSECONDS.toMillis(gone - readyAt);
      assertTrue(ms <= WORKER_EXPIRY_MS + 2 * BROKER_HB_MS + 500, "dropped after " + ms + " ms");
      assertTrue(lazyInbox.stream().anyMatch(m -> m.get(0).equals("QT")), "told to go: " + lazyInbox);
      long lazyTriggers = lazyInbox.stream().filter(m -> m.get(0).equals("TR")).count();
      browser.expectSilence(200);
      assertEquals(10, lazyTriggers + goodInbox.stream().filter(m -> m.get(0).equals("TR")).count());

      // Dropped: every trigger now goes to the live worker.
      goodInbox.clear();
      for (int i = 0; i < 10; i++) {
        browser.send("trigger", new JsonObject().put("event", "late").put("data", new JsonObject().put("i", i)));
      }
      assertTrue(Await.within(5_000, () -> goodInbox.size() == 10), "the live worker got them all: " + goodInbox);
      browser.expectSilence(200);

      // No worker at all: 503.
      beat.shutdownNow();
      beat.awaitTermination(5, TimeUnit.SECONDS);
      synchronized (good) {
        good.write(WbpClient.message(null, "QT"));
      }
      assertTrue(Await.within(5_000, () -> workers(v) == 0));
      browser.send("trigger", new JsonObject().put("event", "none"));
      browser.expectError(503);
    } finally {
      beat.shutdownNow();
      lazy.close();
      good.close();
      readers.shutdownNow();
    }
  }

  static int workers(String vhost) {
    return node.admin().json(vhost + "/workers").getJsonArray("workers").size();
  }

  /** Reads broker messages (not HB) into {@code inbox} until the connection ends. */
  static void readLoop(WbpClient c, LinkedBlockingQueue<List<String>> inbox) {
    c.setTimeout(200);
    while (true) {
      try {
        List<String> m = c.read();
        if (!m.get(0).equals("HB")) {
          inbox.add(m);
        }
      } catch (AssertionError e) {
        if (!String.valueOf(e.getMessage()).startsWith("no message")) {
          return; // closed
        }
      }
    }
  }

  // ---- admin ----

  @Test
  void anAdminFloodIsAnsweredInFullAndTheNodeKeepsServing() throws Exception {
    String v = vhost();
    node.createVhost(v);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    int total = 5_000;
    Semaphore inFlight = new Semaphore(32);
    Map<Integer, AtomicInteger> byStatus = new ConcurrentHashMap<>();
    List<String> unexpected = new CopyOnWriteArrayList<>();
    AtomicInteger answered = new AtomicInteger();
    long start = System.nanoTime();
    for (int i = 0; i < total; i++) {
      String[] req = adminRequest(v, i);
      int expected = Integer.parseInt(req[3]);
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminPort + req[1]))
          .timeout(Duration.ofSeconds(30))
          .method(req[0], HttpRequest.BodyPublishers.noBody());
      if (req[2] != null) {
        b.header("X-WebRocket-Cookie", req[2]);
      }
      assertTrue(inFlight.tryAcquire(30, TimeUnit.SECONDS), "a request took over 30 s");
      http.sendAsync(b.build(), HttpResponse.BodyHandlers.discarding()).whenComplete((r, err) -> {
        if (err != null) {
          unexpected.add(req[0] + " " + req[1] + ": " + err);
        } else {
          byStatus.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
          if (r.statusCode() != expected) {
            unexpected.add(req[0] + " " + req[1] + " -> " + r.statusCode());
          }
        }
        answered.incrementAndGet();
        inFlight.release();
      });
    }
    assertTrue(inFlight.tryAcquire(32, 30, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - start) / 1_000_000;
    System.out.printf("admin flood: %d requests, 32 in flight, in %d ms: %s%n", total, ms, byStatus);
    assertEquals(total, answered.get());
    assertEquals(List.of(), unexpected.subList(0, Math.min(10, unexpected.size())));
    assertEquals(100, node.admin().json(v + "/channels").getJsonArray("channels").size());
  }

  /** {method, path, cookie, expected status}: reads, metrics, refusals, writes. */
  static String[] adminRequest(String vhost, int i) {
    String cookie = node.cookie();
    return switch (i % 10) {
      case 0 -> new String[] {"GET", "/", cookie, "200"};
      case 1 -> new String[] {"GET", vhost, cookie, "200"};
      case 2 -> new String[] {"GET", vhost + "/channels", cookie, "200"};
      case 3 -> new String[] {"GET", "/", "0".repeat(40), "403"};
      case 4 -> new String[] {"GET", "/", null, "403"};
      case 5 -> new String[] {"GET", "/nosuchvhost", cookie, "404"};
      case 6 -> new String[] {"GET", "/health", null, "200"};
      case 7 -> i < 1_000 ? new String[] {"POST", vhost + "/channels/ch" + (i / 10), cookie, "302"}
          : new String[] {"GET", vhost + "/workers", cookie, "200"};
      case 8 -> i % 100 == 8 ? new String[] {"GET", "/metrics", null, "200"} : new String[] {"GET", "/ready", null, "200"};
      default -> new String[] {"DELETE", vhost + "/channels/nosuch", cookie, "404"};
    };
  }
}
