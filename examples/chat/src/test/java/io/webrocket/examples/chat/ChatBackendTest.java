package io.webrocket.examples.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The chat example end to end: a real node, the backend on an ephemeral port, browsers over real
 * WebSockets authenticated with the tokens it issues.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChatBackendTest {
  static TestNode node;
  static ChatBackend backend;
  static HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  static Path web;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start();
    String token = node.createVhost("/demo");
    web = Files.createTempDirectory("chat-web");
    Files.writeString(web.resolve("index.html"), "<p>chat</p>");
    Files.writeString(web.resolve("app.js"), "1;");
    Files.writeString(web.resolve("webrocket.js"), "never served from here");
    String[] args = {"--port", "0", "--token", token, "--node-url",
        "wr://" + token + "@127.0.0.1:" + node.backendPort + "/demo", "--ws-url",
        "ws://127.0.0.1:" + node.wsPort + "/demo", "--web", web.toString()};
    backend = ChatBackend.start(ChatBackend.Settings.from(args, Map.of()));
  }

  @AfterAll
  static void stop() {
    if (backend != null) {
      backend.close();
    }
    if (node != null) {
      node.close();
    }
  }

  static HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backend.port() + path)).GET()
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backend.port() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String token(String uid) throws Exception {
    HttpResponse<String> r = post("/webrocket/auth", new JsonObject().put("uid", uid).encode());
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body()).getString("token");
  }

  /** A browser authenticated as {@code uid}, on the room's presence channel. */
  static WsClient browser(String uid, String room) throws Exception {
    WsClient ws = node.ws("/demo");
    ws.auth(token(uid));
    JsonObject sub = ws.subscribe("presence-room-" + room);
    assertEquals(uid, sub.getString("uid"));
    return ws;
  }

  @Test
  void configNamesTheBrokersWebSocketUrl() throws Exception {
    HttpResponse<String> r = get("/webrocket/config");
    assertEquals(200, r.statusCode());
    assertEquals(new JsonObject().put("url", "ws://127.0.0.1:" + node.wsPort + "/demo"), new JsonObject(r.body()));
  }

  @Test
  void authIssuesATokenABrowserSubscribesWith() throws Exception {
    try (WsClient alice = browser("alice", "lobby")) {
      // The token is single use and its permission covers rooms only.
      WsClient again = node.ws("/demo");
      again.send("auth", new JsonObject().put("token", token("bob")));
      again.expect(":authenticated");
      again.send("subscribe", new JsonObject().put("channel", "presence-lobby-other"));
      again.expectError(403); // not covered by the permission, whether or not it exists
      again.close();
    }
  }

  @Test
  void authRefusesBadInput() throws Exception {
    assertEquals(400, post("/webrocket/auth", "{}").statusCode());
    assertEquals(400, post("/webrocket/auth", "{\"uid\":\"\"}").statusCode());
    assertEquals(400, post("/webrocket/auth", "{\"uid\":\"" + "a".repeat(33) + "\"}").statusCode());
    assertEquals(400, post("/webrocket/auth", "{\"uid\":\"a b\"}").statusCode());
    assertEquals(400, post("/webrocket/auth", "{\"uid\":7}").statusCode());
    assertEquals(400, post("/webrocket/auth", "not json").statusCode());
    assertEquals(413, post("/webrocket/auth", "{\"uid\":\"" + "a".repeat(20_000) + "\"}").statusCode());
    assertEquals(405, get("/webrocket/auth").statusCode());
  }

  @Test
  void aTriggeredMessageIsSavedAndBroadcastToTheRoom() throws Exception {
    try (WsClient alice = browser("alice", "lobby"); WsClient bob = browser("bob", "lobby")) {
      alice.drainReceived();
      alice.send("trigger", new JsonObject().put("event", "message")
          .put("data", new JsonObject().put("room", "lobby").put("user", "alice").put("text", "hi")));
      JsonObject got = nextMessage(bob);
      assertEquals("lobby", got.getString("room"));
      assertEquals("alice", got.getString("user"));
      assertEquals("hi", got.getString("text"));
      assertEquals("presence-room-lobby", got.getString("channel"));
      long time = got.getLong("time");
      assertTrue(Math.abs(System.currentTimeMillis() - time) < 60_000);
      assertEquals("hi", nextMessage(alice).getString("text"));
      JsonArray saved = new JsonArray(get("/rooms/lobby/messages").body());
      JsonObject last = saved.getJsonObject(saved.size() - 1);
      assertEquals(new JsonObject().put("room", "lobby").put("user", "alice").put("text", "hi").put("time", time), last);
      // An invalid one (text too long) is dropped: nothing is broadcast.
      alice.send("trigger", new JsonObject().put("event", "message")
          .put("data", new JsonObject().put("room", "lobby").put("user", "alice").put("text", "x".repeat(1001))));
      bob.expectSilence(500);
    }
  }

  /** The next {@code message} event's payload, skipping presence events. */
  static JsonObject nextMessage(WsClient ws) {
    while (true) {
      JsonObject m = ws.next();
      if (m.containsKey("message")) {
        return m.getJsonObject("message");
      }
    }
  }

  @Test
  void roomsAreCreatedListedAndBroadcastToOverRest() throws Exception {
    HttpResponse<String> created = post("/rooms", "{\"name\":\"kitchen\"}");
    assertEquals(201, created.statusCode(), created.body());
    assertEquals(200, post("/rooms", "{\"name\":\"kitchen\"}").statusCode());
    assertEquals(400, post("/rooms", "{\"name\":\"Bad Name\"}").statusCode());
    assertEquals(400, post("/rooms", "{\"name\":\"" + "a".repeat(33) + "\"}").statusCode());
    JsonArray names = new JsonArray(get("/rooms").body());
    assertTrue(names.contains("lobby") && names.contains("kitchen"), names.encode());

    try (WsClient carol = browser("carol", "kitchen")) {
      carol.drainReceived();
      HttpResponse<String> r = post("/broadcast", "{\"room\":\"kitchen\",\"text\":\"dinner\",\"user\":\"system\"}");
      assertEquals(200, r.statusCode(), r.body());
      JsonObject got = nextMessage(carol);
      assertEquals("system", got.getString("user"));
      assertEquals("dinner", got.getString("text"));
      assertEquals("kitchen", got.getString("room"));
    }
    assertEquals(404, post("/broadcast", "{\"room\":\"nowhere\",\"text\":\"x\"}").statusCode());
    assertEquals(400, post("/broadcast", "{\"room\":\"kitchen\",\"text\":\"" + "x".repeat(1001) + "\"}").statusCode());
    assertEquals(400, post("/broadcast", "{\"room\":\"kitchen\",\"text\":\"\"}").statusCode());
    assertEquals(404, get("/rooms/nowhere/messages").statusCode());
  }

  @Test
  void aRoomKeepsItsLast200Messages() throws Exception {
    assertEquals(201, post("/rooms", "{\"name\":\"busy\"}").statusCode());
    for (int i = 0; i < 205; i++) {
      assertEquals(200, post("/broadcast", "{\"room\":\"busy\",\"text\":\"m" + i + "\"}").statusCode());
    }
    JsonArray saved = new JsonArray(get("/rooms/busy/messages").body());
    assertEquals(200, saved.size());
    assertEquals("m5", saved.getJsonObject(0).getString("text"));
    assertEquals("m204", saved.getJsonObject(199).getString("text"));
  }

  @Test
  void staticFilesComeFromThePageDirectoryOnly() throws Exception {
    HttpResponse<String> index = get("/");
    assertEquals(200, index.statusCode());
    assertEquals("<p>chat</p>", index.body());
    assertTrue(index.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertEquals("1;", get("/app.js").body());
    assertEquals(404, get("/webrocket.js").statusCode(), "the broker serves webrocket.js");
    assertEquals(404, get("/../pom.xml").statusCode());
    assertEquals(404, get("/%2e%2e/pom.xml").statusCode());
    assertEquals(404, get("/missing.html").statusCode());
  }
}
