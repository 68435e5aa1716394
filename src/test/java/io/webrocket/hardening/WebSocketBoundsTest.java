package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.Scrape;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a browser-side peer can make the broker hold besides broadcasts (issue 12: findings 1,
 * 7, 8, 10): pongs and direct replies go through the per-socket outbound bound, control frames
 * are rate limited, a fragmented message has a deadline, presence data is bounded, permission
 * matches are bounded, and private channels do not tell strangers whether they exist. Each over
 * real sockets, with the memory the JVM (node and clients) holds measured where it matters.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketBoundsTest {
  static final String CLOSES = "webrocket_websocket_policy_closes_total";
  static final String REFUSED = "webrocket_websocket_refused_total";
  static final String PONGS_DROPPED = "webrocket_websocket_pongs_dropped_total";
  static final String READS_PAUSED = "webrocket_websocket_reads_paused_total";

  TestNode node;
  final List<AutoCloseable> open = new ArrayList<>();
  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  TestNode start(JsonObject overrides) {
    node = TestNode.start(overrides);
    return node;
  }

  <T extends AutoCloseable> T open(T c) {
    open.add(c);
    return c;
  }

  @AfterEach
  void freshClientsAreServed() throws Exception {
    timer.shutdownNow();
    try {
      for (AutoCloseable c : open) {
        c.close();
      }
      Served.freshClientsAreServed(node);
    } finally {
      node.close();
    }
  }

  // ---- finding 1: pings ----

  @Test
  void aPingFloodFromAPeerThatNeverReadsIsClosedWith1008AndHoldsNothing() throws Exception {
    start(new JsonObject()); // defaults: 10 control frames a second, bursts of 50
    node.createVhost("/v");
    RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 1024));
    raw.readText(); // :connected
    Memory before = Memory.now();
    int sent = flood(raw, RawWs.frame(9, new byte[0]), 3_000_000, 10_000); // 18 MB, as in the issue
    Await.pause(500); // pacing: the node reads what is in flight before memory is measured
    Memory during = Memory.now();
    System.out.printf("ping flood: %,d pings sent without reading; %s%n", sent, during.since(before));
    assertTrue(during.heldSince(before) < 16L << 20, "held: " + during.since(before));
    assertEquals(1008, closeStatusWithoutAnswering(raw, 15_000), "closed as a control-frame flood");
    assertEquals(1, sample(CLOSES, "reason", "controlFrames"), 0.0);
    assertTrue(sample(REFUSED, "limit", "controlFrames") > 50);
  }

  @Test
  void aPingIsNoAnswerSoAPeerThatPingsAndNeverReadsIsClosedAsSilent() throws Exception {
    start(new JsonObject().put("websocket", new JsonObject().put("pingIntervalMs", 300)));
    node.createVhost("/v");
    RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 1024));
    raw.readText(); // :connected
    byte[] ping = RawWs.frame(9, new byte[0]);
    timer.scheduleAtFixedRate(() -> quietly(raw, ping), 0, 100, TimeUnit.MILLISECONDS); // within the rate
    assertEquals(1001, closeStatusWithoutAnswering(raw, 5_000), "closed for silence: it never answered a ping");
    assertEquals(1, sample(CLOSES, "reason", "pingTimeout"), 0.0);
  }

  @Test
  void pongsGoThroughTheOutboundBoundSoAPingerThatNeverReadsIsClosedAsASlowConsumer() throws Exception {
    start(new JsonObject()
        .put("websocket", new JsonObject()
            .put("outboundQueueBytes", 16 * 1024).put("slowConsumerTimeoutMs", 500).put("pingIntervalMs", 1_000))
        .put("limits", new JsonObject().put("controlFramesPerSecond", 10_000_000).put("controlFramesBurst", 10_000_000)));
    node.createVhost("/v");
    RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 1024));
    raw.readText(); // :connected
    // It stays "heard" (a pong message now and then), so only the outbound bound can stop it.
    byte[] keepalive = RawWs.frame(1, "{\"pong\":{}}".getBytes(StandardCharsets.UTF_8));
    timer.scheduleAtFixedRate(() -> quietly(raw, keepalive), 0, 300, TimeUnit.MILLISECONDS);
    byte[] ping = RawWs.frame(9, "p".repeat(125).getBytes(StandardCharsets.US_ASCII));
    Memory before = Memory.now();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int sent = 0;
    while (System.nanoTime() < end && sample(CLOSES, "reason", "slowConsumer") == 0 && sent < 400_000) {
      sent += flood(raw, ping, 2_000, 2_000); // 262 KB of pings (and as much of pongs owed)
    }
    Memory during = Memory.now();
    System.out.printf("pinger that never reads: %,d pings of 125 bytes sent; %s%n", sent, during.since(before));
    // A fast node can take the whole flood before the queue has been over its bound for
    // slowConsumerTimeoutMs (a CI run sent all 400,000 in about a second): the pongs it owes stay
    // queued, as it never reads, so the close follows.
    Await.until(10_000, "closed as a slow consumer", () -> sample(CLOSES, "reason", "slowConsumer") > 0);
    assertEquals(1, sample(CLOSES, "reason", "slowConsumer"), 0.0, "closed as a slow consumer, once");
    assertTrue(Scrape.sum(node, PONGS_DROPPED) > 0, "pongs over the bound were dropped");
    assertTrue(during.heldSince(before) < 16L << 20, "held: " + during.since(before));
    timer.shutdownNow();
    assertEquals(1008, closeStatusWithoutAnswering(raw, 15_000));
  }

  // ---- finding 7: fragmented messages ----

  @Test
  void anUnfinishedFragmentedMessageIsClosedAtTheMessageTimeoutWhateverControlFramesCome() throws Exception {
    int sockets = 50;
    start(new JsonObject().put("websocket", new JsonObject().put("messageTimeoutMs", 2_000)));
    node.createVhost("/v");
    List<RawWs> peers = new ArrayList<>();
    Memory before = Memory.now();
    byte[] fragment = RawWs.frame(false, 1, ("{\"broadcast\":{\"pad\":\"" + "x".repeat(60_000)).substring(0, 60_000)
        .getBytes(StandardCharsets.UTF_8));
    byte[] pong = RawWs.frame(10, new byte[0]);
    long started = System.nanoTime();
    for (int i = 0; i < sockets; i++) {
      RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 0));
      raw.readText(); // :connected
      raw.sendRaw(fragment);
      peers.add(raw);
    }
    // Pongs every 0.5 s: proof of life, no progress on the message.
    timer.scheduleAtFixedRate(() -> peers.forEach(p -> quietly(p, pong)), 500, 500, TimeUnit.MILLISECONDS);
    Await.pause(300); // pacing: the fragments arrived before memory is measured
    Memory held = Memory.now();
    for (RawWs raw : peers) {
      assertEquals(1008, closeStatusWithoutAnswering(raw, 6_000), "closed at the message deadline");
    }
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    assertTrue(tookMs >= 2_000, "not before the deadline: " + tookMs + " ms");
    assertEquals(sockets, sample(CLOSES, "reason", "messageTimeout"), 0.0);
    timer.shutdownNow();
    peers.forEach(RawWs::close);
    assertTrue(Await.within(10_000, () -> Scrape.sum(node, "webrocket_websocket_connections") == 0));
    Memory after = Memory.now();
    System.out.printf("unfinished messages: %d sockets x 60,000-byte fragment held: %s; after the deadline: %s%n",
        sockets, held.since(before), after.since(before));
    assertTrue(after.heldSince(before) < 8L << 20, "released: " + after.since(before));
    assertTrue(held.heap() - before.heap() < 8L << 20, "the fragments are held off the heap: " + held.since(before));
  }

  @Test
  void aFragmentedMessageCompletedInTimeIsHandled() throws Exception {
    start(new JsonObject().put("websocket", new JsonObject().put("messageTimeoutMs", 1_000)));
    node.createVhost("/v");
    RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 0));
    raw.readText(); // :connected
    raw.sendRaw(RawWs.frame(false, 1, "{\"nope\"".getBytes(StandardCharsets.UTF_8)));
    raw.sendRaw(RawWs.frame(10, new byte[0]));
    raw.sendRaw(RawWs.frame(true, 0, ":{}}".getBytes(StandardCharsets.UTF_8)));
    assertTrue(raw.readText().contains("400"), "the joined message is handled (unknown event: 400)");
    Await.pause(1_500); // past the deadline the first message would have had
    raw.sendText("{\"nope\":{}}");
    assertTrue(raw.readText().contains("400"), "still open");
  }

  // ---- finding 8: presence data ----

  @Test
  void presenceDataOverTheLimitIsRefusedWith400() throws Exception {
    start(new JsonObject().put("limits", new JsonObject().put("presenceDataBytes", 1024)));
    String token = node.createVhost("/v");
    node.openChannel("/v", "presence-room");
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/v", token), "KA"));
      WsClient browser = open(node.ws("/v"));
      browser.auth(backend.request(null, "AT", "alice", "presence-.*").get(1));
      JsonObject exact = new JsonObject().put("p", "x".repeat(1024 - "{\"p\":\"\"}".length()));
      assertEquals(1024, exact.toBuffer().length());
      JsonObject over = new JsonObject().put("p", "x".repeat(1025 - "{\"p\":\"\"}".length()));
      JsonArray empties = new JsonArray();
      for (int i = 0; i < 20_000; i++) {
        empties.add(new JsonObject());
      }
      browser.send("subscribe", new JsonObject().put("channel", "presence-room").put("data", new JsonObject().put("e", empties)));
      browser.expectError(400);
      browser.send("subscribe", new JsonObject().put("channel", "presence-room").put("data", over));
      browser.expectError(400);
      assertEquals(2, sample(REFUSED, "limit", "presenceData"), 0.0);
      browser.send("subscribe", new JsonObject().put("channel", "presence-room").put("data", exact));
      assertEquals("presence-room", browser.expect(":subscribed").getString("channel"));
    }
  }

  @Test
  void reSubscribesOfAPeerThatNeverReadsGoThroughTheOutboundBoundAndCloseItAsASlowConsumer() throws Exception {
    int members = 50;
    start(new JsonObject()
        .put("websocket", new JsonObject()
            .put("outboundQueueBytes", 16 * 1024).put("slowConsumerTimeoutMs", 500).put("pingIntervalMs", 1_000)));
    String token = node.createVhost("/v");
    node.openChannel("/v", "presence-room");
    JsonObject data = new JsonObject().put("p", "x".repeat(1000)); // within the 1 KiB default
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/v", token), "KA"));
      for (int i = 0; i < members; i++) {
        WsClient m = open(node.ws("/v"));
        m.auth(backend.request(null, "AT", "m" + i, "presence-.*").get(1));
        m.send("subscribe", new JsonObject().put("channel", "presence-room").put("data", data));
        m.expect(":subscribed");
      }
      RawWs raw = open(RawWs.connect(node.wsPort, "/v", null, 1024));
      raw.readText(); // :connected
      raw.sendText("{\"auth\":{\"token\":\"" + backend.request(null, "AT", "reader", "presence-.*").get(1) + "\"}}");
      assertTrue(raw.readText().startsWith("{\":authenticated\""));
      Memory before = Memory.now();
      String subscribe = "{\"subscribe\":{\"channel\":\"presence-room\"}}";
      for (int i = 0; i < 150; i++) {
        raw.sendText(subscribe); // and never read the member lists (≈ 52 KB each)
        Thread.sleep(5);
      }
      byte[] keepalive = RawWs.frame(1, "{\"pong\":{}}".getBytes(StandardCharsets.UTF_8));
      timer.scheduleAtFixedRate(() -> quietly(raw, keepalive), 0, 300, TimeUnit.MILLISECONDS);
      assertTrue(Await.within(10_000, () -> sample(CLOSES, "reason", "slowConsumer") == 1),
          "closed as a slow consumer");
      Memory during = Memory.now();
      System.out.printf("150 re-subscribes to a presence channel of %d members (1 KB data each), never read: %s;"
          + " reads paused %.0f times%n", members, during.since(before), Scrape.sum(node, READS_PAUSED));
      assertTrue(Scrape.sum(node, READS_PAUSED) > 0, "a member list over the bound paused reading");
      assertTrue(during.heldSince(before) < 16L << 20, "held: " + during.since(before));
      timer.shutdownNow();
      assertEquals(1008, closeStatusWithoutAnswering(raw, 15_000));
    }
  }

  // ---- finding 10: permission patterns and private channels ----

  @Test
  void aCatastrophicPermissionPatternIsAbandonedAndAnswered403() throws Exception {
    start(new JsonObject());
    String token = node.createVhost("/v");
    String name = "private-" + "a".repeat(40); // java.util.regex: ≈ 40 s of backtracking for this pattern
    node.openChannel("/v", name);
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/v", token), "KA"));
      WsClient browser = open(node.ws("/v"));
      browser.auth(backend.request(null, "AT", "alice", "private-(.*a){10}b").get(1));
      long start = System.nanoTime();
      browser.send("subscribe", new JsonObject().put("channel", name));
      browser.expectError(403);
      System.out.printf("catastrophic permission pattern: answered 403 in %.1f ms%n", (System.nanoTime() - start) / 1e6);
      assertEquals(1, sample(REFUSED, "limit", "permissionMatch"), 0.0);
      // A pattern that matches in a few steps still does.
      WsClient fine = open(node.ws("/v"));
      fine.auth(backend.request(null, "AT", "bob", "private-a+").get(1));
      assertEquals(name, fine.subscribe(name).getString("channel"));
    }
  }

  @Test
  void privateAndPresenceChannelsAnswerAlikeWhetherTheyExistOrNot() throws Exception {
    start(new JsonObject());
    String token = node.createVhost("/v");
    node.openChannel("/v", "private-x");
    node.openChannel("/v", "presence-x");
    WsClient anonymous = open(node.ws("/v"));
    for (String name : List.of("private-x", "private-nope", "presence-x", "presence-nope")) {
      anonymous.send("subscribe", new JsonObject().put("channel", name));
      anonymous.expectError(403);
      anonymous.send("unsubscribe", new JsonObject().put("channel", name));
      anonymous.expectError(453);
      anonymous.send("broadcast", new JsonObject().put("channel", name).put("event", "e"));
      anonymous.expectError(453);
    }
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/v", token), "KA"));
      WsClient narrow = open(node.ws("/v"));
      narrow.auth(backend.request(null, "AT", "alice", "private-a.*").get(1));
      narrow.send("subscribe", new JsonObject().put("channel", "private-x"));
      narrow.expectError(403);
      narrow.send("subscribe", new JsonObject().put("channel", "private-nope"));
      narrow.expectError(403);
      // Its permission covers the name: it may learn that the channel is missing.
      narrow.send("subscribe", new JsonObject().put("channel", "private-also-missing"));
      narrow.expectError(454);
    }
  }

  // ---- helpers ----

  /** The sample of {@code name} whose label {@code label} is {@code value} (0 if none yet). */
  double sample(String name, String label, String value) {
    String body = node.admin().call("GET", "/metrics", null).body();
    double total = 0;
    for (String line : body.split("\n")) {
      if (line.startsWith(name + "{") && line.contains(label + "=\"" + value + "\"")) {
        total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /**
   * Writes {@code frame} up to {@code max} times, {@code batch} at a time, without reading;
   * stops early when the node has ended the connection. Returns how many were written.
   */
  static int flood(RawWs raw, byte[] frame, int max, int batch) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(frame.length * batch);
    for (int i = 0; i < batch; i++) {
      b.write(frame, 0, frame.length);
    }
    byte[] bytes = b.toByteArray();
    int sent = 0;
    try {
      OutputStream out = raw.socket.getOutputStream();
      while (sent < max) {
        out.write(bytes);
        sent += batch;
      }
      out.flush();
    } catch (IOException closed) {
      // the node closed it
    }
    return sent;
  }

  static void quietly(RawWs raw, byte[] frame) {
    try {
      raw.sendRaw(frame);
    } catch (RuntimeException closed) {
      // closed by the node: nothing more to send
    }
  }

  /**
   * Reads what the node sent (pongs, pings, replies: none answered) until its close frame;
   * returns the close status. Fails if none comes within {@code ms}.
   */
  static int closeStatusWithoutAnswering(RawWs raw, int ms) {
    raw.timeout(ms);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    try {
      raw.receiveBuffer(256 * 1024); // reading now: no need to crawl
      while (true) {
        RawWs.Frame f = raw.readFrame();
        if (f.opcode() == 8) {
          return f.closeStatus();
        }
        if (System.nanoTime() > deadline) {
          throw new SocketTimeoutException();
        }
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("not closed within " + ms + " ms");
    } catch (EOFException e) {
      throw new AssertionError("ended without a close frame");
    } catch (IOException e) {
      throw new AssertionError("ended without a close frame: " + e);
    }
  }
}
