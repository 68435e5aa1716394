package io.webrocket.kosmonaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Worker} against a real node: triggers, heartbeats, restarts, sharing, stopping. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KosmonautWorkerTest {
  static TestNode node;
  static Client client;
  static final AtomicInteger vhosts = new AtomicInteger();

  @BeforeAll
  static void startNode() {
    // A short expiry: a worker that did not beat would be dropped within the test.
    node = TestNode.start(new JsonObject().put("backend", new JsonObject().put("workerExpiryMs", 1000)));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  /** A fresh vhost; returns its URL. */
  static String vhostUrl(String vhost) {
    String t = node.createVhost(vhost);
    return "wr://" + t + "@127.0.0.1:" + node.backendPort + vhost;
  }

  /** A browser that may trigger (authenticated with a token from {@code url}'s vhost). */
  static WsClient browser(TestNode n, String vhost, String url) {
    WsClient ws = n.ws(vhost);
    try (Client c = new Client(url)) {
      ws.auth(c.requestSingleAccessToken("alice", ".*"));
    }
    return ws;
  }

  static void trigger(WsClient ws, String event, JsonObject data) {
    ws.send("trigger", new JsonObject().put("event", event).put("data", data));
  }

  @Test
  void handlersGetEventDataAndSidOffTheSocketThread() throws Exception {
    String url = vhostUrl("/w1");
    LinkedBlockingQueue<Trigger> got = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<String> threads = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Trigger> other = new LinkedBlockingQueue<>();
    Worker w = new Worker(url)
        .on("message", t -> {
          threads.add(Thread.currentThread().getName());
          got.add(t);
        })
        .onAny(other::add);
    try (w; WsClient ws = browser(node, "/w1", url)) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      trigger(ws, "message", new JsonObject().put("room", "lobby").put("text", "hi"));
      Trigger t = got.poll(5, TimeUnit.SECONDS);
      assertEquals("message", t.event());
      assertEquals("lobby", t.data().get("room"));
      assertEquals("hi", t.data().get("text"));
      assertFalse(t.data().containsKey("sid"));
      assertEquals(ws.sid, t.sid());
      assertTrue(t.json().startsWith("{\"message\":{"), t.json());
      assertTrue(threads.poll().contains("-handler-"));
      trigger(ws, "somethingElse", new JsonObject().put("n", 1));
      assertEquals("somethingElse", other.poll(5, TimeUnit.SECONDS).event());
    }
  }

  @Test
  void aHandlerExceptionNeverKillsTheWorker() throws Exception {
    String url = vhostUrl("/w2");
    LinkedBlockingQueue<Object> seen = new LinkedBlockingQueue<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Worker w = new Worker(url).onError(errors::add).on("job", t -> {
      seen.add(t.data().get("n"));
      if (t.data().get("n").equals(1)) {
        throw new IllegalStateException("boom");
      }
    });
    try (w; WsClient ws = browser(node, "/w2", url)) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      trigger(ws, "job", new JsonObject().put("n", 1));
      trigger(ws, "job", new JsonObject().put("n", 2));
      // Handlers run on a pool: the two triggers may finish in either order.
      assertEquals(java.util.Set.of(1, 2),
          new java.util.HashSet<>(java.util.Arrays.asList(seen.poll(5, TimeUnit.SECONDS), seen.poll(5, TimeUnit.SECONDS))));
      // The handler adds to seen before it throws.
      Await.within(5_000, () -> errors.stream().anyMatch(e -> "boom".equals(e.getMessage())));
      assertTrue(errors.stream().anyMatch(e -> "boom".equals(e.getMessage())), errors.toString());
      trigger(ws, "unhandled", new JsonObject());
      Await.within(5_000, () -> errors.stream().anyMatch(e -> e.getMessage().contains("unhandled")));
      assertTrue(errors.stream().anyMatch(e -> e.getMessage().contains("unhandled")), errors.toString());
    }
  }

  @Test
  void heartbeatsKeepAnIdleWorkerRegisteredPastTheBrokerExpiry() throws Exception {
    String url = vhostUrl("/w3");
    LinkedBlockingQueue<Trigger> got = new LinkedBlockingQueue<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Worker w = new Worker(url).onError(errors::add).on("e", got::add);
    try (w; WsClient ws = browser(node, "/w3", url)) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      Await.never(2500, "a reconnect", () -> !errors.isEmpty()); // 2.5 times the broker's expiry
      trigger(ws, "e", new JsonObject());
      assertEquals("e", got.poll(5, TimeUnit.SECONDS).event());
      assertTrue(errors.isEmpty(), "no reconnect: " + errors);
    }
  }

  @Test
  void twoWorkersShareTriggersEachDeliveredOnce() throws Exception {
    String url = vhostUrl("/w4");
    Set<Integer> a = ConcurrentHashMap.newKeySet();
    Set<Integer> b = ConcurrentHashMap.newKeySet();
    Worker wa = new Worker(url).on("n", t -> a.add((Integer) t.data().get("i")));
    Worker wb = new Worker(url).on("n", t -> b.add((Integer) t.data().get("i")));
    try (wa; wb; WsClient ws = browser(node, "/w4", url)) {
      wa.start();
      wb.start();
      assertTrue(wa.awaitConnected(Duration.ofSeconds(10)));
      assertTrue(wb.awaitConnected(Duration.ofSeconds(10)));
      int n = 40;
      for (int i = 0; i < n; i++) {
        trigger(ws, "n", new JsonObject().put("i", i));
      }
      Await.within(10_000, () -> a.size() + b.size() >= n);
      Await.never(200, "more than " + n + " triggers (duplicates)", () -> a.size() + b.size() > n);
      assertEquals(n, a.size() + b.size(), "a=" + a + " b=" + b);
      Set<Integer> all = new HashSet<>(a);
      all.addAll(b);
      assertEquals(n, all.size(), "each exactly once");
      assertFalse(a.isEmpty(), "a got some");
      assertFalse(b.isEmpty(), "b got some");
    }
  }

  @Test
  void aWorkerSurvivesABrokerRestart() throws Exception {
    Path dir = Files.createTempDirectory("kosmonaut-worker-restart");
    JsonObject ports = new JsonObject()
        .put("websocket", new JsonObject().put("port", TestNode.freeFixedPort()))
        .put("backend", new JsonObject().put("port", TestNode.freeFixedPort()))
        .put("admin", new JsonObject().put("port", TestNode.freeFixedPort()));
    TestNode first = TestNode.start(dir, ports.copy());
    String t = first.createVhost("/r");
    String url = "wr://" + t + "@127.0.0.1:" + first.backendPort + "/r";
    LinkedBlockingQueue<Trigger> got = new LinkedBlockingQueue<>();
    Worker w = Worker.builder(url).reconnectDelay(Duration.ofMillis(50), Duration.ofMillis(500)).build().on("e", got::add);
    try (w) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      try (WsClient ws = browser(first, "/r", url)) {
        trigger(ws, "e", new JsonObject().put("n", 1));
        assertEquals(1, got.poll(5, TimeUnit.SECONDS).data().get("n"));
      }
      first.close(); // sends QT to the worker, then goes away
      Await.within(5_000, () -> !w.isConnected());
      assertFalse(w.isConnected());
      Await.pause(1000); // a few refused reconnects
      try (TestNode second = TestNode.start(dir, ports.copy())) {
        assertTrue(w.awaitConnected(Duration.ofSeconds(20)), "reconnected");
        try (WsClient ws = browser(second, "/r", url)) {
          trigger(ws, "e", new JsonObject().put("n", 2));
          assertEquals(2, got.poll(5, TimeUnit.SECONDS).data().get("n"));
        }
        w.stop();
      }
    }
  }

  @Test
  void handlersRunOnABoundedPoolInOrderOfArrivalWhenOneThread() throws Exception {
    String url = vhostUrl("/w5");
    AtomicInteger running = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    List<Integer> order = new CopyOnWriteArrayList<>();
    Worker w = Worker.builder(url).handlerThreads(1).queueCapacity(1).build().on("n", t -> {
      maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
      Thread.sleep(50);
      order.add((Integer) t.data().get("i"));
      running.decrementAndGet();
    });
    try (w; WsClient ws = browser(node, "/w5", url)) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      for (int i = 0; i < 10; i++) {
        trigger(ws, "n", new JsonObject().put("i", i));
      }
      Await.within(10_000, () -> order.size() >= 10);
      assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), order);
      assertEquals(1, maxRunning.get());
      assertTrue(w.isConnected(), "still registered after the reads paused");
    }
  }

  @Test
  void stopSendsQtWaitsForHandlersInFlightAndLeavesNoThread() throws Exception {
    String url = vhostUrl("/w6");
    AtomicBoolean started = new AtomicBoolean();
    AtomicBoolean finished = new AtomicBoolean();
    Worker w = new Worker(url).on("slow", t -> {
      started.set(true);
      Thread.sleep(700);
      finished.set(true);
    });
    try (WsClient ws = browser(node, "/w6", url)) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      assertEquals(1, workers("/w6"));
      trigger(ws, "slow", new JsonObject());
      Await.within(5_000, started::get);
      assertTrue(started.get());
      w.stop();
      assertTrue(finished.get(), "stop() returned after the handler in flight");
      assertFalse(w.isConnected());
      KosmonautClientTest.assertNoThreads("kosmonaut-worker");
      Await.within(5_000, () -> workers("/w6") == 0);
      assertEquals(0, workers("/w6"), "the broker let the worker go");
      // With no worker the browser's trigger now fails.
      trigger(ws, "slow", new JsonObject());
      ws.expectError(503);
    }
  }

  @Test
  void aSilentBrokerIsLeftAndTheWorkerReconnects() throws Exception {
    String url = vhostUrl("/w7");
    String token = url.substring("wr://".length(), url.indexOf('@'));
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    LinkedBlockingQueue<Trigger> got = new LinkedBlockingQueue<>();
    try (Proxy proxy = new Proxy(node.backendPort)) {
      Worker w = Worker.builder("wr://" + token + "@127.0.0.1:" + proxy.port + "/w7")
          .brokerTimeout(Duration.ofMillis(800)).build().onError(errors::add).on("e", got::add);
      try (w; WsClient ws = browser(node, "/w7", url)) {
        w.start();
        assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
        proxy.swallowReplies = true; // the broker's heartbeats stop arriving
        Await.within(10_000, () -> proxy.accepted.get() >= 2);
        assertTrue(proxy.accepted.get() >= 2, "reconnected");
        assertTrue(errors.stream().anyMatch(e -> e.getMessage().contains("nothing from")), errors.toString());
        proxy.swallowReplies = false;
        assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
        // The old registration may linger until the broker expires it: retry until one arrives.
        Trigger t = null;
        for (int i = 0; i < 20 && t == null; i++) {
          trigger(ws, "e", new JsonObject().put("n", i));
          t = got.poll(500, TimeUnit.MILLISECONDS);
        }
        assertTrue(t != null, "triggers reach the reconnected worker");
      }
    }
  }

  @Test
  void aWrongTokenIsReportedAndRetriedWithBackoff() throws Exception {
    vhostUrl("/w8");
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Worker w = Worker.builder("wr://" + "0".repeat(40) + "@127.0.0.1:" + node.backendPort + "/w8")
        .reconnectDelay(Duration.ofMillis(50), Duration.ofMillis(200)).build().onError(errors::add);
    try (w) {
      w.start();
      assertFalse(w.awaitConnected(Duration.ofSeconds(1)));
      assertTrue(errors.size() >= 2, "tried again: " + errors);
      assertTrue(errors.stream().allMatch(e -> e instanceof UnauthorizedException && ((KosmonautException) e).code() == 402),
          errors.toString());
    }
  }

  static int workers(String vhost) {
    return node.admin().json(vhost + "/workers").getJsonArray("workers").size();
  }
}
