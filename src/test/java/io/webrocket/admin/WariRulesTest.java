package io.webrocket.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * WARI (protocol/WARI.md), one test per rule and route, over real sockets against one shared
 * node. Each test works on vhosts of its own, so the tests do not depend on each other's order.
 */
class WariRulesTest {
  private static final String HEX40 = "[0-9a-f]{40}";
  private static TestNode node;
  private static AdminClient admin;

  @BeforeAll
  static void startNode() {
    node = TestNode.start();
    admin = node.admin();
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Every route of the table, with a vhost and channel that exist. */
  private static List<String[]> allRoutes(String v, String ch) {
    return List.of(
        new String[] {"GET", "/"},
        new String[] {"DELETE", "/"},
        new String[] {"POST", v + "-new"},
        new String[] {"GET", v},
        new String[] {"DELETE", v},
        new String[] {"PUT", v + "/token"},
        new String[] {"GET", v + "/channels"},
        new String[] {"DELETE", v + "/channels"},
        new String[] {"POST", v + "/channels/" + ch + "-new"},
        new String[] {"GET", v + "/channels/" + ch},
        new String[] {"DELETE", v + "/channels/" + ch},
        new String[] {"GET", v + "/workers"});
  }

  private static void assertJsonHeaders(HttpResponse<String> r) {
    String type = r.headers().firstValue("Content-Type").orElse(null);
    assertNotNull(type, "no Content-Type");
    assertTrue(type.startsWith("application/json"), "Content-Type " + type);
    assertEquals(node.cookie(), r.headers().firstValue("X-WebRocket-Cookie").orElse(null), "cookie header not echoed");
  }

  /** Status, JSON headers, and the body as a JSON object. */
  private static JsonObject json(HttpResponse<String> r, int status) {
    assertEquals(status, r.statusCode(), r.request().method() + " " + r.uri() + ": " + r.body());
    assertJsonHeaders(r);
    return new JsonObject(r.body());
  }

  /** An error reply: the status, and exactly {@code {"error": "message"}}. */
  private static void assertError(HttpResponse<String> r, int status) {
    JsonObject body = json(r, status);
    assertEquals(Set.of("error"), body.fieldNames(), r.body());
    Object message = body.getValue("error");
    assertTrue(message instanceof String s && !s.isBlank(), "error message: " + r.body());
  }

  private static void assertRedirect(HttpResponse<String> r, String location) {
    assertEquals(302, r.statusCode(), r.request().method() + " " + r.uri() + ": " + r.body());
    assertJsonHeaders(r);
    assertEquals(List.of(location), r.headers().allValues("Location"));
  }

  private static void assertAccepted(HttpResponse<String> r) {
    assertEquals(202, r.statusCode(), r.request().method() + " " + r.uri() + ": " + r.body());
    assertJsonHeaders(r);
  }

  /** {@code links} is exactly {@code [{"rel": "self", "href": href}]}. */
  private static void assertSelfLink(JsonObject o, String href) {
    assertEquals(new JsonArray().add(new JsonObject().put("rel", "self").put("href", href)), o.getJsonArray("links"), o.encode());
  }

  private static String create(String vhost) {
    assertRedirect(admin.call("POST", vhost), vhost);
    return admin.token(vhost);
  }

  private static void open(String vhost, String channel) {
    assertRedirect(admin.call("POST", vhost + "/channels/" + channel), vhost + "/channels/" + channel);
  }

  private static String unique(String prefix) {
    return "/" + prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static Set<String> vhostPaths() {
    Set<String> paths = new HashSet<>();
    for (Object o : admin.json("/").getJsonArray("vhosts")) {
      paths.add(((JsonObject) o).getString("path"));
    }
    return paths;
  }

  /** A worker: connects, sends RD with its identity, gets the first HB. */
  private static WbpClient worker(String vhost, String token, String id) {
    WbpClient w = node.wbp();
    w.write(WbpClient.message("dlr:" + vhost + ":" + token + ":" + id, "RD"));
    assertEquals("HB", w.read().get(0));
    return w;
  }

  /** Reads the worker's messages until one is not HB (bounded by the reads' timeout and count). */
  private static List<String> nextNonHeartbeat(WbpClient w) {
    for (int i = 0; i < 50; i++) {
      List<String> m = w.read();
      if (!m.get(0).equals("HB")) {
        return m;
      }
    }
    throw new AssertionError("only heartbeats");
  }

  /** Polls {@code value} (bounded) until it equals {@code expected}. */
  private static <T> void eventually(T expected, Supplier<T> value) {
    Await.until(5_000, "expected " + expected, value, expected::equals);
  }

  private static List<String> backend(String vhost, String token, String... frames) {
    try (WbpClient c = node.wbp()) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private static int subscriberCount(String vhost, String channel) {
    return json(admin.call("GET", vhost + "/channels/" + channel), 200).getJsonObject("channel").getJsonObject("subscribers").getInteger("size");
  }

  private static void assertNodeServes() {
    assertEquals(200, admin.call("GET", "/").statusCode());
  }

  /** One raw HTTP/1.1 request with the cookie; returns the status line ("" if the server just closed). */
  private static String raw(String requestLine) {
    try (Socket s = new Socket("127.0.0.1", node.adminPort)) {
      s.setSoTimeout(5_000);
      OutputStream out = s.getOutputStream();
      out.write((requestLine + "\r\nHost: 127.0.0.1\r\nX-WebRocket-Cookie: " + node.cookie() + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] b = new byte[8192];
      int n;
      while ((n = in.read(b)) > 0) {
        got.write(b, 0, n);
      }
      return got.toString(StandardCharsets.ISO_8859_1);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no answer and no close within 5 s to: " + requestLine.substring(0, Math.min(80, requestLine.length())));
    } catch (IOException e) {
      return ""; // reset by the server: a refusal too
    }
  }

  private static int rawStatus(String response) {
    if (response.isEmpty()) {
      return -1;
    }
    String[] first = response.split("\r\n", 2)[0].split(" ");
    return Integer.parseInt(first[1]);
  }

  // ------------------------------------------------------------------ access

  @Test
  void missingCookieIsForbiddenWithEmptyBody() {
    String v = unique("nocookie");
    create(v);
    open(v, "chat");
    for (String[] route : allRoutes(v, "chat")) {
      HttpResponse<String> r = admin.call(route[0], route[1], null);
      assertEquals(403, r.statusCode(), route[0] + " " + route[1]);
      assertEquals("", r.body(), route[0] + " " + route[1]);
    }
    // Nothing happened: every vhost and channel is still there, nothing was created.
    assertTrue(vhostPaths().contains(v));
    assertFalse(vhostPaths().contains(v + "-new"));
    assertEquals(200, admin.call("GET", v + "/channels/chat").statusCode());
    assertEquals(404, admin.call("GET", v + "/channels/chat-new").statusCode());
  }

  @Test
  void wrongCookieIsForbiddenWithEmptyBody() {
    String v = unique("badcookie");
    String token = create(v);
    open(v, "chat");
    String real = node.cookie();
    List<String> wrong = List.of(
        "0".repeat(40), real.toUpperCase(), real + "0", real.substring(0, 39), real.substring(1), " " + real + "x", "x");
    for (String cookie : wrong) {
      HttpResponse<String> r = admin.call("GET", "/", cookie);
      assertEquals(403, r.statusCode(), "cookie " + cookie);
      assertEquals("", r.body());
    }
    for (String[] route : allRoutes(v, "chat")) {
      HttpResponse<String> r = admin.call(route[0], route[1], "f".repeat(40));
      assertEquals(403, r.statusCode(), route[0] + " " + route[1]);
      assertEquals("", r.body(), route[0] + " " + route[1]);
    }
    assertTrue(vhostPaths().contains(v));
    assertEquals(token, admin.token(v));
    assertEquals(200, admin.call("GET", v + "/channels/chat").statusCode());
  }

  @Test
  void responsesAreJsonAndEchoTheCookieHeader() {
    String v = unique("headers");
    HttpResponse<String> created = admin.call("POST", v);
    assertRedirect(created, v); // 302
    json(admin.call("GET", "/"), 200);
    json(admin.call("GET", v), 200);
    assertAccepted(admin.call("DELETE", v + "/channels")); // 202
    assertError(admin.call("POST", v), 400);
    assertError(admin.call("GET", v + "-missing"), 404);
    assertError(admin.call("GET", "/no/such/route/here"), 404);
    // The echo is the header as sent (the same bytes as the cookie).
    assertEquals(List.of(node.cookie()), admin.call("GET", "/").headers().allValues("X-WebRocket-Cookie"));
  }

  // ------------------------------------------------------------------ vhosts

  @Test
  void getRootListsVhostsWithPathAccessTokenAndLinks() {
    String a = unique("list-a");
    String b = unique("list-b");
    String ta = create(a);
    String tb = create(b);
    JsonObject body = json(admin.call("GET", "/"), 200);
    assertEquals(Set.of("vhosts"), body.fieldNames());
    int seen = 0;
    for (Object o : body.getJsonArray("vhosts")) {
      JsonObject e = (JsonObject) o;
      assertEquals(Set.of("path", "accessToken", "links"), e.fieldNames(), e.encode());
      assertTrue(e.getString("accessToken").matches(HEX40), e.encode());
      assertSelfLink(e, e.getString("path"));
      if (e.getString("path").equals(a)) {
        assertEquals(ta, e.getString("accessToken"));
        seen++;
      }
      if (e.getString("path").equals(b)) {
        assertEquals(tb, e.getString("accessToken"));
        seen++;
      }
    }
    assertEquals(2, seen, body.encode());
  }

  @Test
  void deleteRootDeletesEveryVhost() {
    // Its own node: this route empties the whole node.
    try (TestNode n = TestNode.start()) {
      AdminClient a = n.admin();
      List<String> tokens = new ArrayList<>();
      for (String v : List.of("/one", "/two", "/three")) {
        tokens.add(a.createVhost(v));
        a.openChannel(v, "chat");
      }
      try (WsClient browser = n.ws("/one"); WbpClient w = n.wbp()) {
        w.write(WbpClient.message("dlr:/two:" + tokens.get(1) + ":" + UUID.randomUUID(), "RD"));
        assertEquals("HB", w.read().get(0));
        HttpResponse<String> r = a.call("DELETE", "/");
        assertEquals(202, r.statusCode(), r.body());
        assertEquals("QT", nextNonHeartbeat(w).get(0));
        assertEquals(new JsonObject().put("vhosts", new JsonArray()), a.json("/"));
        for (String v : List.of("/one", "/two", "/three")) {
          assertEquals(404, a.call("GET", v).statusCode());
        }
        browser.awaitClose();
        try (WbpClient c = n.wbp()) {
          assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", "/two", tokens.get(1)), "OC", "chat"));
        }
        assertThrows(Throwable.class, () -> n.ws("/three").close());
      }
      // An empty node can be cleared again.
      assertEquals(202, a.call("DELETE", "/").statusCode());
    }
  }

  @Test
  void postVhostCreatesItWithAFreshTokenAndRedirectsToIt() {
    String v = unique("create");
    HttpResponse<String> r = admin.call("POST", v);
    assertRedirect(r, v);
    String token = admin.token(v);
    assertTrue(token.matches(HEX40), token);
    assertNotEquals(token, create(unique("create-other")));
    // The vhost works at once, for backends and browsers.
    assertEquals(List.of("OK", ""), backend(v, token, "OC", "chat"));
    try (WsClient browser = node.ws(v)) {
      browser.subscribe("chat");
    }
    // Re-created after deletion: a fresh token again, and none of the old channels.
    assertAccepted(admin.call("DELETE", v));
    assertRedirect(admin.call("POST", v), v);
    String again = admin.token(v);
    assertNotEquals(token, again);
    assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
  }

  @Test
  void postVhostThatExistsIs400() {
    String v = unique("exists");
    String token = create(v);
    assertError(admin.call("POST", v), 400);
    assertEquals(token, admin.token(v), "the existing vhost is untouched");
  }

  @Test
  void postVhostWithInvalidPathIs400() {
    Set<String> before = vhostPaths();
    for (String bad : List.of("/bad.name", "/bad%20name", "/b%C3%A9", "/semi;colon", "/a+b", "/" + "x".repeat(300))) {
      assertError(admin.call("POST", bad), 400);
    }
    assertEquals(before, vhostPaths());
    assertNodeServes();
  }

  @Test
  void getVhostShowsPathAccessTokenChannelCountAndLinks() {
    String v = unique("show");
    String token = create(v);
    JsonObject body = json(admin.call("GET", v), 200);
    assertEquals(Set.of("vhost"), body.fieldNames());
    JsonObject vh = body.getJsonObject("vhost");
    assertEquals(Set.of("path", "accessToken", "channels", "links"), vh.fieldNames(), vh.encode());
    assertEquals(v, vh.getString("path"));
    assertEquals(token, vh.getString("accessToken"));
    assertEquals(new JsonObject().put("size", 0), vh.getJsonObject("channels"));
    assertSelfLink(vh, v);
    open(v, "a");
    open(v, "private-b");
    assertEquals(List.of("OK", ""), backend(v, token, "OC", "presence-c"));
    assertEquals(new JsonObject().put("size", 3), admin.json(v).getJsonObject("vhost").getJsonObject("channels"));
  }

  @Test
  void getUnknownVhostIs404() {
    assertError(admin.call("GET", unique("unknown")), 404);
  }

  @Test
  void deleteVhostClosesItsBrowserSocketsAndSendsQtToItsWorkers() {
    String v = unique("doomed");
    String other = unique("survivor");
    String token = create(v);
    String otherToken = create(other);
    open(v, "chat");
    open(other, "chat");
    String otherWorkerId = UUID.randomUUID().toString();
    try (WsClient b1 = node.ws(v); WsClient b2 = node.ws(v); WsClient bystander = node.ws(other);
         WbpClient w = worker(v, token, UUID.randomUUID().toString());
         WbpClient otherWorker = worker(other, otherToken, otherWorkerId)) {
      b1.subscribe("chat");
      bystander.subscribe("chat");
      assertAccepted(admin.call("DELETE", v));
      b1.awaitClose();
      b2.awaitClose();
      assertEquals("QT", nextNonHeartbeat(w).get(0));
      w.setTimeout(5_000);
      assertTrue(w.readToEnd().replace("HB\n\n\r\n\r\n", "").isEmpty(), "the worker's connection ends after QT");
      assertError(admin.call("GET", v), 404);
      assertFalse(vhostPaths().contains(v));
      assertThrows(Throwable.class, () -> node.ws(v).close(), "no more upgrades to a deleted vhost");
      assertEquals(List.of("ER", "402"), backend(v, token, "OC", "chat"));
      // The other vhost is untouched: its browser still gets broadcasts, its worker is still listed.
      assertFalse(bystander.isClosed());
      assertEquals(List.of("OK", ""), backend(other, otherToken, "BC", "chat", "news", "{}"));
      assertEquals(new JsonObject().put("channel", "chat"), bystander.expect("news"));
      JsonArray workers = admin.json(other + "/workers").getJsonArray("workers");
      assertEquals(1, workers.size());
      assertEquals(otherWorkerId, workers.getJsonObject(0).getString("id"));
    }
  }

  @Test
  void deleteVhostRacingATokenRegenerationLeavesItDeleted() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    for (int i = 0; i < 30; i++) {
      String v = unique("race");
      create(v);
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (String method : List.of("PUT", "DELETE", "PUT")) {
        String path = method.equals("PUT") ? v + "/token" : v;
        calls.add(http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.adminPort + path))
            .header("X-WebRocket-Cookie", node.cookie()).method(method, java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (var c : calls) {
        int status = c.get(15, java.util.concurrent.TimeUnit.SECONDS).statusCode();
        assertTrue(status == 302 || status == 202 || status == 404, "status " + status);
      }
      assertEquals(202, calls.get(1).get().statusCode());
      assertError(admin.call("GET", v), 404);
      assertFalse(vhostPaths().contains(v), "deleted vhost listed again after a racing token regeneration");
    }
  }

  @Test
  void deleteUnknownVhostIs404() {
    assertError(admin.call("DELETE", unique("unknown")), 404);
  }

  @Test
  void putTokenGivesANewTokenAndTheOldOneStopsWorkingAtOnce() {
    String v = unique("rotate");
    String old = create(v);
    open(v, "chat");
    try (WbpClient persistent = node.wbp()) {
      assertEquals(List.of("OK", ""), persistent.request(WbpClient.identity("req", v, old), "KA"));
      assertRedirect(admin.call("PUT", v + "/token"), v);
      // Right after the 302, with no wait: new connections with the old token are refused...
      assertEquals(List.of("ER", "402"), backend(v, old, "OC", "chat"));
      try (WbpClient c = node.wbp()) {
        c.write(WbpClient.message("dlr:" + v + ":" + old + ":" + UUID.randomUUID(), "RD"));
        assertEquals(List.of("ER", "402"), c.read());
        assertTrue(c.closedByPeer());
      }
      // ...and a persistent connection that identified with it is sent QT and closed (issue 12);
      // a request that crossed the QT on the wire is refused.
      List<String> reply = persistent.request(null, "BC", "chat", "e", "{}");
      assertTrue(reply.equals(List.of("QT", "")) || reply.equals(List.of("ER", "402")), reply.toString());
      assertTrue(persistent.closedByPeer());
    }
    String fresh = admin.token(v);
    assertTrue(fresh.matches(HEX40));
    assertNotEquals(old, fresh);
    assertEquals(List.of("OK", ""), backend(v, fresh, "BC", "chat", "e", "{}"));
    boolean listed = false;
    for (Object o : admin.json("/").getJsonArray("vhosts")) {
      JsonObject e = (JsonObject) o;
      if (e.getString("path").equals(v)) {
        assertEquals(fresh, e.getString("accessToken"));
        listed = true;
      }
    }
    assertTrue(listed);
  }

  @Test
  void putTokenOnUnknownVhostIs404() {
    String v = unique("unknown");
    assertError(admin.call("PUT", v + "/token"), 404);
    assertFalse(vhostPaths().contains(v), "regenerating must not create");
  }

  // ---------------------------------------------------------------- channels

  @Test
  void getChannelsListsNamesAndLinks() {
    String v = unique("chans");
    String token = create(v);
    JsonObject empty = json(admin.call("GET", v + "/channels"), 200);
    assertEquals(new JsonObject().put("channels", new JsonArray()), empty);
    open(v, "chat");
    open(v, "private-x");
    assertEquals(List.of("OK", ""), backend(v, token, "OC", "presence-y"));
    JsonObject body = json(admin.call("GET", v + "/channels"), 200);
    assertEquals(Set.of("channels"), body.fieldNames());
    Set<String> names = new HashSet<>();
    for (Object o : body.getJsonArray("channels")) {
      JsonObject c = (JsonObject) o;
      assertEquals(Set.of("name", "links"), c.fieldNames(), c.encode());
      assertSelfLink(c, v + "/channels/" + c.getString("name"));
      names.add(c.getString("name"));
    }
    assertEquals(Set.of("chat", "private-x", "presence-y"), names);
    assertEquals(3, body.getJsonArray("channels").size());
  }

  @Test
  void getChannelsOfUnknownVhostIs404() {
    assertError(admin.call("GET", unique("unknown") + "/channels"), 404);
  }

  @Test
  void deleteChannelsClosesEveryChannelOfTheVhost() {
    String v = unique("wipe");
    String other = unique("wipe-other");
    String token = create(v);
    create(other);
    for (String c : List.of("a", "b", "presence-c")) {
      open(v, c);
    }
    open(other, "a");
    try (WsClient browser = node.ws(v); WsClient bystander = node.ws(other)) {
      browser.subscribe("a");
      bystander.subscribe("a");
      assertAccepted(admin.call("DELETE", v + "/channels"));
      assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
      assertEquals(0, admin.json(v).getJsonObject("vhost").getJsonObject("channels").getInteger("size"));
      for (String c : List.of("a", "b", "presence-c")) {
        assertError(admin.call("GET", v + "/channels/" + c), 404);
      }
      assertEquals(List.of("ER", "454"), backend(v, token, "BC", "a", "e", "{}"));
      // The subscriber was unsubscribed without :unsubscribed and keeps its socket.
      browser.send("broadcast", new JsonObject().put("channel", "a").put("event", "e"));
      browser.expectError(454);
      browser.send("subscribe", new JsonObject().put("channel", "b"));
      browser.expectError(454);
      assertFalse(browser.isClosed());
      // Reopened under the same name, the channel starts empty.
      open(v, "a");
      assertEquals(0, subscriberCount(v, "a"));
      // Other vhosts keep their channels and subscribers.
      assertEquals(1, subscriberCount(other, "a"));
    }
  }

  @Test
  void deleteChannelsOfUnknownVhostIs404() {
    assertError(admin.call("DELETE", unique("unknown") + "/channels"), 404);
  }

  @Test
  void postChannelOpensItWithTypeFromNameAndRedirectsToIt() {
    String v = unique("open");
    create(v);
    for (String c : List.of("chat", "private-room", "presence-lobby", "a.b_c-d", "x".repeat(128))) {
      assertRedirect(admin.call("POST", v + "/channels/" + c), v + "/channels/" + c);
      assertEquals(c, admin.json(v + "/channels/" + c).getJsonObject("channel").getString("name"));
    }
    try (WsClient browser = node.ws(v)) {
      browser.subscribe("chat");
      // Private and presence by name: an unauthenticated browser may not join them.
      browser.send("subscribe", new JsonObject().put("channel", "private-room"));
      browser.expectError(403);
      browser.send("subscribe", new JsonObject().put("channel", "presence-lobby"));
      browser.expectError(403);
    }
  }

  @Test
  void postChannelOnUnknownVhostIs404() {
    String v = unique("unknown");
    assertError(admin.call("POST", v + "/channels/chat"), 404);
    assertFalse(vhostPaths().contains(v));
  }

  @Test
  void postChannelWithInvalidNameIs400() {
    String v = unique("badchan");
    create(v);
    for (String bad : List.of(".dot", "-dash", "sp%20ace", "semi;colon", "a%2Fb", "%C3%A9t%C3%A9", "x".repeat(129))) {
      assertError(admin.call("POST", v + "/channels/" + bad), 400);
    }
    assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
  }

  @Test
  void postChannelThatExistsIs400() {
    String v = unique("dupchan");
    String token = create(v);
    open(v, "chat");
    assertError(admin.call("POST", v + "/channels/chat"), 400);
    assertEquals(List.of("OK", ""), backend(v, token, "OC", "by-backend"));
    assertError(admin.call("POST", v + "/channels/by-backend"), 400);
    try (WsClient browser = node.ws(v)) {
      browser.subscribe("chat");
      assertError(admin.call("POST", v + "/channels/chat"), 400);
      assertEquals(1, subscriberCount(v, "chat"), "a refused re-open leaves the subscribers");
    }
  }

  @Test
  void getChannelShowsNameSubscriberCountAndLinks() {
    String v = unique("subs");
    create(v);
    open(v, "chat");
    JsonObject body = json(admin.call("GET", v + "/channels/chat"), 200);
    assertEquals(Set.of("channel"), body.fieldNames());
    JsonObject c = body.getJsonObject("channel");
    assertEquals(Set.of("name", "subscribers", "links"), c.fieldNames(), c.encode());
    assertEquals("chat", c.getString("name"));
    assertEquals(new JsonObject().put("size", 0), c.getJsonObject("subscribers"));
    assertSelfLink(c, v + "/channels/chat");
    try (WsClient b1 = node.ws(v); WsClient b2 = node.ws(v)) {
      b1.subscribe("chat");
      assertEquals(1, subscriberCount(v, "chat"));
      b2.subscribe("chat");
      assertEquals(2, subscriberCount(v, "chat"));
      b2.subscribe("chat"); // re-subscribing counts once
      assertEquals(2, subscriberCount(v, "chat"));
      b1.send("unsubscribe", new JsonObject().put("channel", "chat"));
      b1.expect(":unsubscribed");
      assertEquals(1, subscriberCount(v, "chat"));
      b2.close();
      eventually(0, () -> subscriberCount(v, "chat"));
    }
  }

  @Test
  void getUnknownChannelIs404() {
    String v = unique("nochan");
    create(v);
    assertError(admin.call("GET", v + "/channels/nope"), 404);
    assertError(admin.call("GET", unique("unknown") + "/channels/nope"), 404);
  }

  @Test
  void deleteChannelClosesIt() {
    String v = unique("close");
    String token = create(v);
    open(v, "doomed");
    open(v, "kept");
    try (WsClient browser = node.ws(v)) {
      browser.subscribe("doomed");
      browser.subscribe("kept");
      assertAccepted(admin.call("DELETE", v + "/channels/doomed"));
      assertError(admin.call("GET", v + "/channels/doomed"), 404);
      assertEquals(List.of("ER", "454"), backend(v, token, "BC", "doomed", "e", "{}"));
      browser.send("broadcast", new JsonObject().put("channel", "doomed").put("event", "e"));
      browser.expectError(454);
      // The other channel still works for the same browser.
      assertEquals(List.of("OK", ""), backend(v, token, "BC", "kept", "e", "{}"));
      assertEquals(new JsonObject().put("channel", "kept"), browser.expect("e"));
      assertEquals(1, admin.json(v + "/channels").getJsonArray("channels").size());
    }
  }

  @Test
  void deleteUnknownChannelIs404() {
    String v = unique("nodel");
    create(v);
    assertError(admin.call("DELETE", v + "/channels/nope"), 404);
    assertError(admin.call("DELETE", unique("unknown") + "/channels/nope"), 404);
  }

  // ----------------------------------------------------------------- workers

  @Test
  void getWorkersListsTheConnectedWorkers() {
    String v = unique("lobby");
    String token = create(v);
    assertEquals(new JsonObject().put("workers", new JsonArray()), json(admin.call("GET", v + "/workers"), 200));
    String id1 = UUID.randomUUID().toString();
    String id2 = UUID.randomUUID().toString();
    try (WbpClient w1 = worker(v, token, id1); WbpClient client = node.wbp()) {
      // A client connection (req) is not a worker.
      assertEquals(List.of("OK", ""), client.request(WbpClient.identity("req", v, token), "KA"));
      JsonObject body = json(admin.call("GET", v + "/workers"), 200);
      assertEquals(Set.of("workers"), body.fieldNames());
      JsonArray list = body.getJsonArray("workers");
      assertEquals(1, list.size(), body.encode());
      JsonObject w = list.getJsonObject(0);
      assertEquals(Set.of("id", "links"), w.fieldNames());
      assertEquals(id1, w.getString("id"));
      JsonArray links = w.getJsonArray("links");
      assertEquals(1, links.size());
      assertEquals("self", links.getJsonObject(0).getString("rel"));
      assertTrue(links.getJsonObject(0).getString("href").startsWith(v + "/"), links.encode());
      try (WbpClient w2 = worker(v, token, id2)) {
        eventually(Set.of(id1, id2), () -> workerIds(v));
        w2.write(WbpClient.message(null, "QT"));
        eventually(Set.of(id1), () -> workerIds(v));
      }
      w1.close();
      eventually(Set.of(), () -> workerIds(v));
    }
  }

  private static Set<String> workerIds(String v) {
    Set<String> ids = new HashSet<>();
    for (Object o : admin.json(v + "/workers").getJsonArray("workers")) {
      ids.add(((JsonObject) o).getString("id"));
    }
    return ids;
  }

  @Test
  void getWorkersOfUnknownVhostIs404() {
    assertError(admin.call("GET", unique("unknown") + "/workers"), 404);
  }

  // ------------------------------------------------------------ bad requests

  @Test
  void unknownRoutesGetA404ErrorReply() {
    String v = unique("routes");
    create(v);
    open(v, "chat");
    for (String path : List.of("/a/b/c", v + "/channels/chat/extra", v + "/nothing", v + "/workers/x", v + "/tokens",
        v + "/channels/chat/subscribers")) {
      for (String method : List.of("GET", "POST", "PUT", "DELETE")) {
        assertError(admin.call(method, path), 404);
      }
    }
    assertNodeServes();
  }

  @Test
  void wrongMethodsGetAnErrorReplyAndChangeNothing() {
    String v = unique("methods");
    String token = create(v);
    open(v, "chat");
    List<String[]> wrong = List.of(
        new String[] {"POST", "/"}, new String[] {"PUT", "/"}, new String[] {"PATCH", "/"},
        new String[] {"PUT", v}, new String[] {"PATCH", v},
        new String[] {"GET", v + "/token"}, new String[] {"POST", v + "/token"}, new String[] {"DELETE", v + "/token"},
        new String[] {"POST", v + "/channels"}, new String[] {"PUT", v + "/channels"},
        new String[] {"PUT", v + "/channels/chat"}, new String[] {"PATCH", v + "/channels/chat"},
        new String[] {"POST", v + "/workers"}, new String[] {"DELETE", v + "/workers"},
        new String[] {"BREW", v});
    for (String[] r : wrong) {
      HttpResponse<String> resp = admin.call(r[0], r[1]);
      assertTrue(resp.statusCode() >= 400 && resp.statusCode() < 500, r[0] + " " + r[1] + " -> " + resp.statusCode());
      assertError(resp, resp.statusCode());
    }
    assertEquals(token, admin.token(v));
    assertEquals(1, admin.json(v + "/channels").getJsonArray("channels").size());
    assertNodeServes();
  }

  @Test
  void weirdPathsGetErrorRepliesAndTheNodeKeepsServing() {
    String v = unique("weird");
    String token = create(v);
    open(v, "chat");
    Set<String> before = vhostPaths();
    // Through a normal client.
    for (String[] r : List.of(
        new String[] {"GET", "//"}, new String[] {"GET", "/%2F"}, new String[] {"POST", "/%2F"},
        new String[] {"GET", v + "%2Fchannels"}, new String[] {"POST", "/%00"}, new String[] {"GET", v + "/channels/%00"},
        new String[] {"POST", v + "/channels/..%2F..%2Fx"}, new String[] {"GET", "/" + "x".repeat(2000)},
        new String[] {"GET", v + "/channels/" + "y".repeat(2000)})) {
      HttpResponse<String> resp = admin.call(r[0], r[1]);
      assertTrue(resp.statusCode() >= 400 && resp.statusCode() < 500, r[0] + " " + r[1] + " -> " + resp.statusCode());
      assertError(resp, resp.statusCode());
    }
    // Raw requests no normal client would send.
    for (String line : List.of(
        "GET /%zz HTTP/1.1", "GET " + v + "/channels/% HTTP/1.1", "GET /" + "z".repeat(20_000) + " HTTP/1.1",
        "GET nonsense HTTP/1.1", "GET * HTTP/1.1", "FOO", "GET / HTTP/9.9", "\u0001\u0002\u0003 / HTTP/1.1",
        "GET " + v + "/channels/%E0%A4%A HTTP/1.1", "DELETE /%zz/channels HTTP/1.1")) {
      String response = raw(line);
      int status = rawStatus(response);
      if (status != -1) {
        // 4xx, or 505 for an HTTP version nobody speaks; never a 500 (or a success).
        assertTrue(status >= 400 && status != 500, line.substring(0, Math.min(60, line.length())) + " -> " + response);
      }
      assertNodeServes();
    }
    // Nothing was created or deleted by any of it, and the vhost still works.
    assertEquals(before, vhostPaths());
    assertEquals(token, admin.token(v));
    assertEquals(List.of("OK", ""), backend(v, token, "BC", "chat", "e", "{}"));
    Set<String> names = new HashSet<>();
    admin.json(v + "/channels").getJsonArray("channels").forEach(o -> names.add(((JsonObject) o).getString("name")));
    assertEquals(Set.of("chat"), names);
  }

  @Test
  void emptyAndDotSegmentsAreNotRoutes() {
    String v = unique("dots");
    String token = create(v);
    open(v, "chat");
    Set<String> before = vhostPaths();
    // Without the rule these would be normalized to routes: DELETE / (every vhost!), POST /evil, ...
    for (String line : List.of(
        "DELETE " + v + "/.. HTTP/1.1", "DELETE " + v + "/%2e%2E HTTP/1.1", "DELETE // HTTP/1.1", "DELETE /./ HTTP/1.1",
        "POST " + v + "/channels/../../evil HTTP/1.1", "PUT " + v + "/./token HTTP/1.1", "DELETE " + v + "//channels HTTP/1.1",
        "GET " + v + "/ HTTP/1.1", "DELETE " + v + "/channels/chat/.. HTTP/1.1")) {
      String response = raw(line);
      assertEquals(404, rawStatus(response), line + " -> " + response);
      JsonObject body = new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
      assertEquals(Set.of("error"), body.fieldNames());
    }
    assertEquals(before, vhostPaths());
    assertEquals(token, admin.token(v));
    assertEquals(1, admin.json(v + "/channels").getJsonArray("channels").size());
  }

  @Test
  void manyBadRequestsInARowDoNotHurtTheNode() {
    String v = unique("flood");
    create(v);
    for (int i = 0; i < 200; i++) {
      int s = admin.call(i % 2 == 0 ? "GET" : "POST", "/" + i + "/bad/" + i).statusCode();
      if (s != 404) {
        fail("request " + i + " -> " + s);
      }
    }
    for (int i = 0; i < 50; i++) {
      assertEquals(403, admin.call("DELETE", "/", "nope").statusCode());
    }
    assertTrue(vhostPaths().contains(v));
    assertNodeServes();
  }
}
