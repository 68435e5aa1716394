package io.webrocket.kosmonaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Client} against a real node: every call, every error code, pooling, retries, fallback. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KosmonautClientTest {
  static final int CHANNEL_LIMIT = 20;
  static TestNode node;
  static Path dataDir;
  static String token;
  static final AtomicInteger vhosts = new AtomicInteger();

  @BeforeAll
  static void startNode() throws Exception {
    dataDir = Files.createTempDirectory("kosmonaut-client");
    node = TestNode.start(dataDir, overrides(TestNode.freeFixedPort(), TestNode.freeFixedPort(), TestNode.freeFixedPort()));
    token = node.createVhost("/app");
  }

  static JsonObject overrides(int ws, int backend, int admin) {
    return new JsonObject()
        .put("websocket", new JsonObject().put("port", ws))
        .put("backend", new JsonObject().put("port", backend))
        .put("admin", new JsonObject().put("port", admin))
        .put("limits", new JsonObject().put("channelsPerVhost", CHANNEL_LIMIT));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  static String url(String vhost, String tok) {
    return "wr://" + tok + "@127.0.0.1:" + node.backendPort + vhost;
  }

  /** A fresh vhost (its own channel count) and a client for it. */
  static Client fresh(String[] vhostOut) {
    String v = "/c" + vhosts.incrementAndGet();
    String t = node.createVhost(v);
    vhostOut[0] = v;
    return new Client(url(v, t));
  }

  @Test
  void everyCallWorksAndBroadcastsReachSubscribers() {
    String[] v = new String[1];
    try (Client client = fresh(v); WsClient ws = node.ws(v[0])) {
      client.openChannel("chat");
      client.openChannel("chat"); // already open: still OK
      ws.subscribe("chat");

      Map<String, Object> data = new LinkedHashMap<>();
      data.put("text", "hi\nthere \"quoted\" é");
      data.put("n", 42);
      data.put("list", List.of(1, true, "x"));
      data.put("none", null);
      client.broadcast("chat", "message", data);
      JsonObject got = ws.expect("message");
      assertEquals("hi\nthere \"quoted\" é", got.getString("text"));
      assertEquals(42, got.getInteger("n"));
      assertEquals("[1,true,\"x\"]", got.getJsonArray("list").encode());
      assertTrue(got.containsKey("none"));
      assertEquals("chat", got.getString("channel"));

      // JSON text over several lines goes out on one line.
      client.broadcast("chat", "pretty", "{\n  \"a\": 1,\n  \"b\": [2, 3]\n}");
      JsonObject pretty = ws.expect("pretty");
      assertEquals(1, pretty.getInteger("a"));

      client.closeChannel("chat");
      assertThrows(ChannelNotFoundException.class, () -> client.broadcast("chat", "m", Map.of()));
    }
  }

  @Test
  void singleAccessTokenAuthenticatesABrowserForPresence() {
    String[] v = new String[1];
    try (Client client = fresh(v); WsClient ws = node.ws(v[0])) {
      client.openChannel("presence-room");
      String t = client.requestSingleAccessToken("alice", "^presence-.*$");
      assertTrue(t.matches("[0-9a-f]{128}"), t);
      ws.auth(t);
      JsonObject sub = ws.subscribe("presence-room");
      assertEquals("alice", sub.getString("uid"));
      String t2 = client.requestSingleAccessTokenAsync("bob", "x").join();
      assertFalse(t.equals(t2));
    }
  }

  @Test
  void everyErrorCodeIsItsException() {
    String[] v = new String[1];
    try (Client client = fresh(v)) {
      client.openChannel("chat");
      assertCode(454, ChannelNotFoundException.class, () -> client.broadcast("nope", "m", Map.of()));
      assertCode(454, ChannelNotFoundException.class, () -> client.closeChannel("nope"));
      assertCode(451, InvalidChannelNameException.class, () -> client.openChannel("bad name!"));
      assertCode(400, BadRequestException.class, () -> client.broadcast("chat", ":system", Map.of()));
      assertCode(400, BadRequestException.class, () -> client.broadcast("chat", "m", "[1, 2]"));
      assertCode(400, BadRequestException.class, () -> client.broadcast("chat", "m", "{not json"));
      assertCode(400, BadRequestException.class, () -> client.requestSingleAccessToken("", "x"));
      assertCode(400, BadRequestException.class, () -> client.requestSingleAccessToken("alice", "("));
      // The connection survives errors: the next call works.
      client.broadcast("chat", "m", Map.of("ok", true));
      // 429: over the vhost's channel limit.
      for (int i = 1; i < CHANNEL_LIMIT; i++) {
        client.openChannel("ch" + i);
      }
      assertCode(429, TooManyRequestsException.class, () -> client.openChannel("one-too-many"));
      // The async variants fail their future with the same exception.
      CompletionException e = assertThrows(CompletionException.class, () -> client.closeChannelAsync("nope").join());
      assertEquals(454, ((KosmonautException) e.getCause()).code());
    }
    try (Client wrongToken = new Client(url("/app", "0".repeat(40)));
        Client unknownVhost = new Client(url("/nowhere", token))) {
      assertCode(402, UnauthorizedException.class, () -> wrongToken.openChannel("x"));
      assertCode(402, UnauthorizedException.class, () -> unknownVhost.openChannel("x"));
    }
    // Frames cannot carry line breaks: refused before anything is sent.
    try (Client client = new Client(url("/app", token))) {
      assertThrows(IllegalArgumentException.class, () -> client.openChannel("a\nb"));
      assertThrows(IllegalArgumentException.class, () -> client.broadcast("a", "e", Map.of("x", new Object())));
    }
  }

  @Test
  void nothingListeningFailsWithConnectionCodeWithinTheConnectTimeout() {
    int port = TestNode.freePort();
    try (Client client = Client.builder("wr://" + token + "@127.0.0.1:" + port + "/app")
        .connectTimeout(Duration.ofMillis(500)).build()) {
      long t0 = System.nanoTime();
      KosmonautException e = assertCode(598, ConnectionException.class, () -> client.openChannel("x"));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(ms >= 400 && ms < 5000, ms + " ms; " + e.getMessage());
    }
  }

  @Test
  void badUrlsAreRefusedUpFront() {
    assertThrows(IllegalArgumentException.class, () -> new Client("http://x@127.0.0.1:1/app"));
    assertThrows(IllegalArgumentException.class, () -> new Client("wr://127.0.0.1:1/app"));
    assertThrows(IllegalArgumentException.class, () -> new Client("wr://t@127.0.0.1:1/"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Client("ws://SECRET@h/app"));
    assertFalse(e.getMessage().contains("SECRET"), "the token is never in a message");
  }

  @Test
  void thirtyTwoThreadsShareOnePooledClient() throws Exception {
    String[] v = new String[1];
    int threads = 32;
    int each = 200;
    try (Client client = fresh(v); WsClient ws = node.ws(v[0])) {
      client.openChannel("load");
      ws.subscribe("load");
      CountDownLatch go = new CountDownLatch(1);
      List<Thread> ts = new ArrayList<>();
      AtomicInteger failures = new AtomicInteger();
      for (int t = 0; t < threads; t++) {
        int id = t;
        Thread th = new Thread(() -> {
          try {
            go.await();
            for (int i = 0; i < each; i++) {
              client.broadcast("load", "n", Map.of("t", id, "i", i));
              if (i % 50 == 0) {
                client.requestSingleAccessToken("u" + id, "x");
              }
            }
          } catch (Exception e) {
            failures.incrementAndGet();
            e.printStackTrace();
          }
        });
        th.start();
        ts.add(th);
      }
      go.countDown();
      for (Thread th : ts) {
        th.join(60_000);
      }
      assertEquals(0, failures.get());
      // Every broadcast arrived once, each thread's in the order it made them.
      int[] last = new int[threads];
      java.util.Arrays.fill(last, -1);
      for (int n = 0; n < threads * each; n++) {
        JsonObject m = ws.expect("n");
        int t = m.getInteger("t");
        int i = m.getInteger("i");
        assertEquals(last[t] + 1, i, "thread " + t + " order");
        last[t] = i;
      }
      ws.expectSilence(200);
    }
  }

  @Test
  void asyncCallsOnOneChannelTakeEffectInOrder() {
    String[] v = new String[1];
    try (Client client = fresh(v)) {
      List<CompletableFuture<Void>> fs = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        fs.add(client.openChannelAsync("ch" + i));
        fs.add(client.broadcastAsync("ch" + i, "e", Map.of("i", i)));
        fs.add(client.closeChannelAsync("ch" + i));
      }
      CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
    }
  }

  @Test
  void aSynchronousCallInsideACallbackIsRefusedInsteadOfHanging() {
    try (Client client = new Client(url("/app", token))) {
      int onReader = 0;
      for (int i = 0; i < 20; i++) {
        // The callback runs on the reader thread, unless the reply came before it was added.
        Object outcome = client.openChannelAsync("cb").thenApply(x -> {
          boolean reader = Thread.currentThread().getName().contains("-reader-");
          try {
            client.openChannel("cb2");
            return reader ? "a synchronous call on the reader thread went through" : "caller";
          } catch (IllegalStateException e) {
            return reader ? e : "refused on the caller's thread";
          }
        }).join();
        if (outcome instanceof IllegalStateException) {
          onReader++;
        } else {
          assertEquals("caller", outcome);
        }
      }
      assertTrue(onReader > 0, "no callback ran on the reader thread");
    }
  }

  @Test
  void aLostReplyRetriesOpenButNeverRepeatsABroadcast() throws Exception {
    String[] v = new String[1];
    String t;
    try (Client setup = fresh(v)) {
      setup.openChannel("chat");
      t = node.admin().token(v[0]);
    }
    try (Proxy proxy = new Proxy(node.backendPort);
        WsClient ws = node.ws(v[0]);
        Client client = Client.builder("wr://" + t + "@127.0.0.1:" + proxy.port + v[0]).poolSize(1).build()) {
      ws.subscribe("chat");
      client.openChannel("warm"); // the connection is open
      proxy.swallowReplies = true;
      CompletableFuture<Void> open = client.openChannelAsync("chat");
      CompletableFuture<Void> bc = client.broadcastAsync("chat", "once", Map.of("x", 1));
      ws.expect("once"); // the broker did it; its replies are lost
      proxy.swallowReplies = false;
      proxy.cutAll();
      open.get(10, TimeUnit.SECONDS); // sent again on a new connection: OK
      CompletionException e = assertThrows(CompletionException.class, bc::join);
      assertEquals(598, ((KosmonautException) e.getCause()).code());
      assertTrue(e.getCause().getMessage().contains("may or may not"), e.getCause().getMessage());
      ws.expectSilence(300); // never delivered twice
      assertEquals(2, proxy.accepted.get());
      // A close whose reply was lost is retried; the retry's 454 means it is closed: success.
      proxy.swallowReplies = true;
      CompletableFuture<Void> close = client.closeChannelAsync("chat");
      ws.expectSilence(300);
      proxy.swallowReplies = false;
      proxy.cutAll();
      assertNull(close.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aLateReplyTimesOutAndTheNextRequestUsesANewConnection() throws Exception {
    try (Proxy proxy = new Proxy(node.backendPort);
        Client client = Client.builder("wr://" + token + "@127.0.0.1:" + proxy.port + "/app")
            .requestTimeout(Duration.ofMillis(800)).poolSize(1).build()) {
      client.openChannel("t");
      proxy.swallowReplies = true;
      long t0 = System.nanoTime();
      assertCode(408, RequestTimeoutException.class, () -> client.openChannel("t"));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(ms >= 700 && ms < 5000, ms + " ms");
      proxy.swallowReplies = false;
      client.openChannel("t");
      assertEquals(2, proxy.accepted.get());
    }
  }

  @Test
  void anIdleConnectionIsClosedAndRemadeOnTheNextCall() throws Exception {
    try (Proxy proxy = new Proxy(node.backendPort);
        Client client = Client.builder("wr://" + token + "@127.0.0.1:" + proxy.port + "/app")
            .idleTimeout(Duration.ofMillis(200)).poolSize(1).build()) {
      client.openChannel("idle");
      Await.pause(700); // past the client's idle timeout (200 ms)
      client.openChannel("idle");
      assertEquals(2, proxy.accepted.get());
    }
  }

  @Test
  void aBrokerRestartIsNotSeenByCallers() throws Exception {
    Path dir = Files.createTempDirectory("kosmonaut-restart");
    int ws = TestNode.freeFixedPort();
    int be = TestNode.freeFixedPort();
    int ad = TestNode.freeFixedPort();
    TestNode first = TestNode.start(dir, overrides(ws, be, ad));
    String t = first.createVhost("/r");
    try (Client client = Client.builder("wr://" + t + "@127.0.0.1:" + be + "/r")
        .connectTimeout(Duration.ofSeconds(20)).requestTimeout(Duration.ofSeconds(30)).build()) {
      client.openChannel("a");
      first.close();
      CompletableFuture<Void> during = CompletableFuture.runAsync(() -> client.openChannel("b"));
      Await.pause(300); // pacing: the call is under way while no node listens
      try (TestNode second = TestNode.start(dir, overrides(ws, be, ad))) {
        during.get(30, TimeUnit.SECONDS);
        client.broadcast("b", "e", Map.of());
      }
    }
  }

  @Test
  void a2012ServerGetsOneConnectionPerRequest() throws Exception {
    try (FakeServer2012 old = new FakeServer2012();
        Client client = new Client("wr://" + "a".repeat(40) + "@127.0.0.1:" + old.port + "/app")) {
      client.openChannel("chat");
      client.broadcast("chat", "e", Map.of("a", 1));
      assertEquals(128, client.requestSingleAccessToken("alice", ".*").length());
      client.closeChannelAsync("chat").join();
      List<List<String>> reqs = old.requests;
      assertEquals("KA", reqs.get(0).get(2)); // tried once, answered ER 400
      List<String> commands = new ArrayList<>();
      for (List<String> r : reqs.subList(1, reqs.size())) {
        assertTrue(r.get(0).startsWith("req:/app:" + "a".repeat(40) + ":"), "identity on every request: " + r);
        commands.add(r.get(2));
      }
      assertEquals(List.of("OC", "BC", "AT", "CC"), commands);
      assertEquals(List.of("chat", "e", "{\"a\":1}"), reqs.get(2).subList(3, 6));
    }
  }

  @Test
  void closeWaitsForRepliesAndLeavesNoThread() throws Exception {
    Client client = new Client(url("/app", token));
    List<CompletableFuture<Void>> fs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      fs.add(client.openChannelAsync("c" + (i % 10)));
    }
    client.close();
    for (CompletableFuture<Void> f : fs) {
      assertTrue(f.isDone() && !f.isCompletedExceptionally());
    }
    assertThrows(IllegalStateException.class, () -> client.openChannel("x"));
    assertNoThreads("kosmonaut-client");
  }

  static void assertNoThreads(String prefix) throws InterruptedException {
    Await.until(5_000, "no " + prefix + " thread running", () -> Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).map(Thread::getName).toList(), List::isEmpty);
  }

  static KosmonautException assertCode(int code, Class<? extends KosmonautException> type, Runnable call) {
    KosmonautException e = assertThrows(type, call::run);
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }
}
