package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every configured limit, each on a node of its own with a small value: what a client over it
 * gets, that the limit holds no more than it should, and that a fresh client is still served.
 */
class LimitsTest {
  static final List<String> OK = Served.OK;
  static final List<String> TOO_MANY = List.of("ER", "429");

  TestNode node;
  final List<AutoCloseable> open = new ArrayList<>();

  TestNode start(String section, JsonObject values) {
    node = TestNode.start(new JsonObject().put(section, values));
    return node;
  }

  <T extends AutoCloseable> T open(T c) {
    open.add(c);
    return c;
  }

  @AfterEach
  void freshClientsAreServed() throws Exception {
    try {
      for (AutoCloseable c : open) {
        c.close();
      }
      Served.freshClientsAreServed(node);
    } finally {
      node.close();
    }
  }

  static String pad(int bytes) {
    return "a".repeat(bytes);
  }

  @Test
  void aMessageOverTheFrameSizeClosesWith1009() {
    start("websocket", new JsonObject().put("maxFrameSize", 1024));
    node.createVhost("/v");
    WsClient under = open(node.ws("/v"));
    String near = "{\"nope\":{\"pad\":\"" + pad(1000) + "\"}}";
    assertTrue(near.length() <= 1024);
    under.send(near);
    under.expectError(400); // handled: unknown event, the socket stays open
    under.send("pong", new JsonObject());
    under.expectSilence(50);

    WsClient over = open(node.ws("/v"));
    over.send("{\"nope\":{\"pad\":\"" + pad(2000) + "\"}}");
    assertEquals(1009, over.awaitClose());

    // The limit is on the message, not the frame: three 500-byte fragments are over it too.
    try (RawWs raw = RawWs.connect(node.wsPort, "/v", null, 0)) {
      raw.readText(); // :connected
      byte[] part = pad(500).getBytes(StandardCharsets.UTF_8);
      raw.sendRaw(RawWs.frame(false, 1, part));
      raw.sendRaw(RawWs.frame(false, 0, part));
      raw.sendRaw(RawWs.frame(true, 0, part));
      assertEquals(1009, raw.awaitClose());
    }
    assertTrue(!under.isClosed(), "a socket within the limit is not affected");
  }

  @Test
  void messagesOverTheRateGet429AndASustainedFloodIsClosedWith1008() {
    start("limits", new JsonObject().put("messagesPerSecond", 1).put("messagesBurst", 5));
    node.createVhost("/v");
    WsClient c = open(node.ws("/v"));
    for (int i = 0; i < 5; i++) {
      c.send("pong", new JsonObject()); // the burst: accepted, no reply
    }
    c.send("pong", new JsonObject());
    c.expectError(429);
    int sent = 6;
    while (!c.isClosed() && sent < 100) {
      try {
        c.send("pong", new JsonObject());
        sent++;
      } catch (RuntimeException | AssertionError e) {
        break; // the server closed it while we wrote
      }
    }
    assertEquals(1008, c.awaitClose());
    // Everything it was told before the close was 429.
    int refused = 1;
    for (String text : c.drainReceived()) {
      JsonObject m = new JsonObject(text);
      assertEquals(429, m.getJsonObject(":error").getInteger("code"), text);
      refused++;
    }
    // 429 for each refused message up to a full burst (5; a token refilled meanwhile restarts the
    // count), then the close. How many the client wrote before it saw the close is timing.
    assertTrue(refused >= 5 && refused < 20, "refused " + refused + " before the close");

    // Another connection has its own allowance.
    WsClient other = open(node.ws("/v"));
    other.send("nope", new JsonObject());
    other.expectError(400);
  }

  @Test
  void subscriptionsOverTheLimitGet429() {
    start("limits", new JsonObject().put("subscriptionsPerConnection", 3));
    node.createVhost("/v");
    for (String ch : List.of("a", "b", "c", "d")) {
      node.openChannel("/v", ch);
    }
    WsClient c = open(node.ws("/v"));
    c.subscribe("a");
    c.subscribe("b");
    c.subscribe("c");
    c.send("subscribe", new JsonObject().put("channel", "d"));
    c.expectError(429);
    c.subscribe("a"); // already on it: not a new subscription
    c.send("unsubscribe", new JsonObject().put("channel", "c"));
    c.expect(":unsubscribed");
    c.subscribe("d");
    c.send("subscribe", new JsonObject().put("channel", "c"));
    c.expectError(429);
    JsonObject channels = node.admin().json("/v/channels/d");
    assertEquals(1, channels.getJsonObject("channel").getJsonObject("subscribers").getInteger("size"));
  }

  @Test
  void connectionsOverTheVhostLimitAreRefused503BeforeTheUpgrade() {
    start("limits", new JsonObject().put("connectionsPerVhost", 3));
    node.createVhost("/a");
    node.createVhost("/b");
    List<WsClient> a = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      a.add(open(node.ws("/a")));
    }
    assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/a", null));
    open(node.ws("/b")); // another vhost has its own count
    a.get(0).close();
    assertTrue(Await.within(5_000, () -> admitted("/a")), "a closed connection frees its place");
    assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/a", null));
  }

  @Test
  void connectionsOverTheNodeLimitAreRefused503BeforeTheUpgrade() {
    start("limits", new JsonObject().put("connectionsPerNode", 4));
    node.createVhost("/a");
    node.createVhost("/b");
    node.createVhost("/c");
    List<WsClient> all = new ArrayList<>();
    for (String v : List.of("/a", "/a", "/b", "/b")) {
      all.add(open(node.ws(v)));
    }
    assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/c", null));
    assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/a", null));
    all.get(2).close();
    assertTrue(Await.within(5_000, () -> admitted("/c")), "a closed connection frees its place");
    assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/b", null));
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    open.clear();
    assertTrue(Await.within(5_000, () -> admitted("/a")));
  }

  /** Upgrades {@code vhost}; a socket that opened is kept (it holds its place) until the test ends. */
  boolean admitted(String vhost) {
    RawWs ws = RawWs.connect(node.wsPort, vhost, null, 0);
    if (ws.status == 101) {
      open(ws);
      return true;
    }
    ws.close();
    return false;
  }

  @Test
  void channelsOverTheVhostLimitGetEr429AndAdmin400() {
    start("limits", new JsonObject().put("channelsPerVhost", 3));
    String token = node.createVhost("/v");
    WbpClient c = open(node.wbp());
    assertEquals(OK, c.request(WbpClient.identity("req", "/v", token), "KA"));
    assertEquals(OK, c.request(null, "OC", "a"));
    assertEquals(OK, c.request(null, "OC", "b"));
    assertEquals(OK, c.request(null, "OC", "c"));
    assertEquals(TOO_MANY, c.request(null, "OC", "d"));
    assertEquals(OK, c.request(null, "OC", "a")); // exists: no new channel
    var admin = node.admin().call("POST", "/v/channels/e");
    assertEquals(400, admin.statusCode());
    assertEquals("too many channels in this vhost", new JsonObject(admin.body()).getString("error"));
    assertEquals(3, node.admin().json("/v/channels").getJsonArray("channels").size());
    assertEquals(OK, c.request(null, "CC", "a"));
    assertEquals(OK, c.request(null, "OC", "d"));
    assertEquals(TOO_MANY, c.request(null, "OC", "e"));
  }

  @Test
  void aWbpMessageOverTheSizeLimitGetsEr400AndTheConnectionCloses() {
    start("backend", new JsonObject().put("maxMessageSize", 16 * 1024));
    String token = node.createVhost("/v");
    String id = WbpClient.identity("req", "/v", token);
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id, "OC", "c"));
    }
    try (WbpClient c = node.wbp()) { // just under the limit
      assertEquals(OK, c.request(id, "BC", "c", "e", "{\"pad\":\"" + pad(15_000) + "\"}"));
    }
    try (WbpClient c = node.wbp()) { // one-shot
      assertEquals(List.of("ER", "400"), c.request(id, "BC", "c", "e", "{\"pad\":\"" + pad(20_000) + "\"}"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) { // persistent: what it is owed first, then the 400, then the close
      assertEquals(OK, c.request(id, "KA"));
      c.write(WbpClient.message(null, "OC", "d") + WbpClient.message(null, "BC", "c", "e", "{\"pad\":\"" + pad(20_000) + "\"}"));
      assertEquals(OK, c.read());
      assertEquals(List.of("ER", "400"), c.read());
      assertTrue(c.closedByPeer());
    }
    // A line that never ends is over the limit too.
    try (WbpClient c = node.wbp()) {
      c.write(id + "\n\nBC\nc\ne\n" + pad(40_000));
      assertEquals(List.of("ER", "400"), c.read());
      assertTrue(c.closedByPeer());
    }
  }

  @Test
  void wbpRequestsOverTheRateGetEr429AndASustainedFloodIsCut() {
    start("limits", new JsonObject().put("backendRequestsPerSecond", 5).put("backendRequestsBurst", 5));
    String token = node.createVhost("/v");
    WbpClient c = open(node.wbp());
    assertEquals(OK, c.request(WbpClient.identity("req", "/v", token), "KA"));
    StringBuilder flood = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      flood.append(WbpClient.message(null, "OC", "c" + i));
    }
    c.write(flood.toString());
    List<List<String>> replies = new ArrayList<>();
    while (true) {
      try {
        replies.add(c.read());
      } catch (AssertionError e) {
        assertTrue(String.valueOf(e.getMessage()).startsWith("connection closed"), e.getMessage());
        break;
      }
    }
    int ok = 0;
    while (ok < replies.size() && replies.get(ok).equals(OK)) {
      ok++;
    }
    List<List<String>> rest = replies.subList(ok, replies.size());
    assertTrue(ok >= 4 && ok <= 6, "within the burst: " + replies);
    assertTrue(rest.size() >= 6 && rest.stream().allMatch(TOO_MANY::equals), "then 429s: " + replies);
    assertTrue(replies.size() < 30, "cut off before the end of the flood: " + replies);
    // The channels it was allowed exist, the refused ones do not.
    assertEquals(ok, node.admin().json("/v/channels").getJsonArray("channels").size());
  }

  @Test
  void handshakesOverTheInFlightLimitAreRefused503() throws Exception {
    node = TestNode.start(new JsonObject()
        .put("websocket", new JsonObject().put("instances", 1))
        .put("limits", new JsonObject().put("handshakesInFlight", 2)));
    node.createVhost("/v");
    // A vhost whose registry never answers by itself (as a slow node of a cluster would):
    // handshakes to it stay in flight until the test answers them.
    List<Message<Object>> held = new CopyOnWriteArrayList<>();
    MessageConsumer<Object> stall = node.node.vertx().eventBus().consumer(Addresses.vhost("/stall"), held::add);
    WsClient.await(stall.completion());
    try {
      List<CompletableFuture<Integer>> stalled = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        stalled.add(CompletableFuture.supplyAsync(() -> RawWs.handshakeStatus(node.wsPort, "/stall", null)));
      }
      assertTrue(Await.within(5_000, () -> held.size() == 2), "two handshakes in flight");
      assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/v", null));
      assertEquals(503, RawWs.handshakeStatus(node.wsPort, "/stall", null));
      held.forEach(m -> m.fail(404, "Not found"));
      for (CompletableFuture<Integer> f : stalled) {
        assertEquals(404, f.get(5, TimeUnit.SECONDS));
      }
      assertEquals(101, RawWs.handshakeStatus(node.wsPort, "/v", null));
    } finally {
      WsClient.await(stall.unregister());
    }
  }
}
