package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import io.webrocket.vhost.Secrets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Origins, the cookie file, single access tokens, secret comparison, what the logs hold, admin binding. */
class SecurityTest {
  static final long TOKEN_LIFETIME_MS = 1_000;
  static TestNode node;

  @BeforeAll
  static void startNode() {
    node = TestNode.start(new JsonObject().put("tokens", new JsonObject().put("lifetimeMs", TOKEN_LIFETIME_MS)));
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  @AfterEach
  void freshClientsAreServed() {
    Served.freshClientsAreServed(node);
  }

  // ---- Origin ----

  @Test
  void byDefaultEveryOriginIsAllowed() {
    node.createVhost("/anyorigin");
    assertEquals(101, RawWs.handshakeStatus(node.wsPort, "/anyorigin", "https://anywhere.example"));
    assertEquals(101, RawWs.handshakeStatus(node.wsPort, "/anyorigin", null));
    assertEquals(404, RawWs.handshakeStatus(node.wsPort, "/nosuchvhost", "https://anywhere.example"));
  }

  @Test
  void anOriginAllowListRefusesOtherOriginsWith403BeforeTheUpgrade() {
    try (TestNode guarded = TestNode.start(new JsonObject()
        .put("websocket", new JsonObject().put("allowedOrigins", new JsonArray().add("https://good.example")))
        .put("vhosts", new JsonObject().put("/declared", new JsonObject()
            .put("origins", new JsonArray().add("https://declared.example"))
            .put("channels", new JsonArray().add("news")))))) {
      guarded.createVhost("/open");
      int port = guarded.wsPort;
      assertEquals(101, RawWs.handshakeStatus(port, "/open", "https://good.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/open", "https://evil.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/open", "https://good.example.evil.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/open", "http://good.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/open", null), "a list set: no Origin, no upgrade");
      // A declared vhost's own list replaces the node's.
      assertEquals(101, RawWs.handshakeStatus(port, "/declared", "https://declared.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/declared", "https://good.example"));
      assertEquals(403, RawWs.handshakeStatus(port, "/open", "https://declared.example"));
      assertTrue(Await.within(5_000, () -> io.webrocket.test.Scrape.sum(guarded, "webrocket_websocket_connections") == 0),
          "refused handshakes hold no connection");

      // A browser from an allowed origin is served.
      String token = guarded.admin().token("/declared");
      try (RawWs browser = RawWs.connect(port, "/declared", "https://declared.example", 0);
          WbpClient backend = guarded.wbp()) {
        assertEquals(101, browser.status);
        assertTrue(browser.readText().startsWith("{\":connected\""));
        browser.sendText("{\"subscribe\":{\"channel\":\"news\"}}");
        assertTrue(browser.readText().startsWith("{\":subscribed\""));
        assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/declared", token), "BC", "news", "e", "{}"));
        assertEquals("{\"e\":{\"channel\":\"news\"}}", browser.readText());
      }
    }
  }


  // ---- secrets at rest and in use ----

  @Test
  void theCookieFileIsReadableByItsOwnerOnly() throws Exception {
    Path cookie = node.dataDir.resolve("test.cookie");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cookie)));
    assertEquals(node.cookie(), Files.readString(cookie).trim());
    assertTrue(node.cookie().matches("[0-9a-f]{40}"));

    // A cookie file an operator left readable by all is adopted, and its mode fixed.
    Path dir = Files.createTempDirectory("webrocket-cookie");
    String given = Secrets.hex(20);
    Path file = dir.resolve("test.cookie");
    Files.writeString(file, given + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    try (TestNode other = TestNode.start(dir, new JsonObject())) {
      assertEquals(given, other.cookie());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }
  }

  @Test
  void singleAccessTokensAre128HexSingleUseAndExpire() throws Exception {
    String token = node.createVhost("/tokens");
    String other = node.createVhost("/tokens2");
    List<String> issued = new ArrayList<>();
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/tokens", token), "KA"));
      for (int i = 0; i < 20; i++) {
        List<String> at = backend.request(null, "AT", "user" + i, ".*");
        assertEquals("AT", at.get(0));
        assertTrue(at.get(1).matches("[0-9a-f]{128}"), at.get(1));
        issued.add(at.get(1));
      }
    }
    assertEquals(issued.size(), new HashSet<>(issued).size(), "all different");
    try (WsClient a = node.ws("/tokens"); WsClient b = node.ws("/tokens"); WsClient c = node.ws("/tokens2")) {
      a.auth(issued.get(0));
      b.send("auth", new JsonObject().put("token", issued.get(0)));
      b.expectError(402); // used
      c.send("auth", new JsonObject().put("token", issued.get(1)));
      c.expectError(402); // another vhost's token
      b.send("auth", new JsonObject().put("token", issued.get(1).toUpperCase()));
      b.expectError(402); // not the same token
      Await.pause(TOKEN_LIFETIME_MS + 200); // past the lifetime
      b.send("auth", new JsonObject().put("token", issued.get(2)));
      b.expectError(402); // expired
    }
    assertNotEquals(token, other);
  }

  /**
   * Every place that checks a secret refuses each near miss of it: the registry's check of a
   * backend's vhost token and the admin endpoint's check of the cookie. A comparison by prefix,
   * by length, ignoring case or by hash collision of a careless kind would let one through.
   * (That they compare in constant time is {@link SecretComparisonTest}'s part.)
   */
  @Test
  void nearMissesOfTheVhostTokenAndTheCookieAreRefused() {
    String token = node.createVhost("/nearmiss");
    try (WbpClient backend = node.wbp()) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/nearmiss", token), "OC", "c"));
    }
    for (String wrong : nearMisses(token)) {
      try (WbpClient backend = node.wbp()) {
        assertEquals(List.of("ER", "402"), backend.request(WbpClient.identity("req", "/nearmiss", wrong), "OC", "c"),
            "token " + wrong);
      }
    }
    String cookie = node.cookie();
    assertEquals(200, node.admin().call("GET", "/", cookie).statusCode());
    for (String wrong : nearMisses(cookie)) {
      assertEquals(403, node.admin().call("GET", "/", wrong).statusCode(), "cookie " + wrong);
    }
    assertEquals(403, node.admin().call("GET", "/", "").statusCode(), "an empty cookie");
  }

  /** Strings one step away from {@code secret}: one character changed, one missing, one more, another case. */
  static List<String> nearMisses(String secret) {
    char last = secret.charAt(secret.length() - 1);
    List<String> m = new ArrayList<>(List.of(
        secret.substring(0, secret.length() - 1) + (last == '0' ? '1' : '0'),
        '0' == secret.charAt(0) ? "1" + secret.substring(1) : "0" + secret.substring(1),
        secret.substring(0, secret.length() - 1),
        secret + "0"));
    if (!secret.toUpperCase().equals(secret)) {
      m.add(secret.toUpperCase());
    }
    return m;
  }

  // ---- logs ----

  @Test
  void logsHoldNoTokenCookieOrUserData() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.setContext(ctx);
    captured.start();
    root.addAppender(captured);
    Set<String> secrets = new HashSet<>();
    secrets.add(node.cookie());
    try {
      String token = node.createVhost("/logs");
      secrets.add(token);
      secrets.add(Secrets.hex(20)); // a wrong token sent below
      String wrong = secrets.stream().filter(s -> !s.equals(token) && !s.equals(node.cookie())).findFirst().orElseThrow();
      String uid = "uid-" + Secrets.hex(8);
      String payload = "payload-" + Secrets.hex(8);
      String presence = "presence-" + Secrets.hex(8);
      String garbage = "garbage-" + Secrets.hex(8);
      secrets.add(uid);
      secrets.add(payload);
      secrets.add(presence);
      secrets.add(garbage);
      String tokens;
      try (WbpClient backend = node.wbp()) {
        assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/logs", token), "KA"));
        assertEquals(Served.OK, backend.request(null, "OC", "chat"));
        assertEquals(Served.OK, backend.request(null, "OC", "presence-room"));
        assertEquals(Served.OK, backend.request(null, "BC", "chat", "said", "{\"text\":\"" + payload + "\"}"));
        List<String> at = backend.request(null, "AT", uid, "presence-.*");
        tokens = at.get(1);
        secrets.add(tokens);
        assertEquals("ER", backend.request(null, "BC", "nosuch", "said", "{\"text\":\"" + payload + "\"}").get(0));
      }
      try (WbpClient bad = node.wbp()) {
        assertEquals(List.of("ER", "402"), bad.request(WbpClient.identity("req", "/logs", wrong), "AT", uid, ".*"));
      }
      try (WbpClient bad = node.wbp()) {
        bad.request("req:/logs:" + token + ":not-a-uuid", "BC", "chat", "e", "{\"text\":\"" + payload + "\"}");
      }
      try (WsClient browser = node.ws("/logs")) {
        browser.send("auth", new JsonObject().put("token", wrong));
        browser.expectError(402);
        browser.auth(tokens);
        browser.send("subscribe", new JsonObject().put("channel", "presence-room").put("data", new JsonObject().put("secret", presence)));
        browser.expect(":subscribed");
        browser.expect(":memberJoined");
        browser.subscribe("chat");
        browser.send("broadcast", new JsonObject().put("channel", "chat").put("event", "said")
            .put("data", new JsonObject().put("text", payload)));
        browser.expect("said");
        browser.send("trigger", new JsonObject().put("event", "job").put("data", new JsonObject().put("text", payload)));
        browser.expectError(503); // no worker
        browser.send("{\"broken\": \"" + garbage + "\"");
        browser.expectError(400);
        browser.send("{\"auth\": {\"token\": \"" + tokens + "\"}, \"x\": 1}");
        browser.expectError(400);
        browser.send("close", new JsonObject().put("secret", presence));
        browser.expect(":closed");
      }
      assertEquals(200, node.admin().call("GET", "/").statusCode());
      assertEquals(200, node.admin().call("GET", "/logs").statusCode());
      assertEquals(403, node.admin().call("GET", "/", wrong).statusCode());
      assertEquals(302, node.admin().call("PUT", "/logs/token").statusCode());
      secrets.add(node.admin().token("/logs"));
      // The marker: the browser's last request (close) has its access line; every line before it is in.
      Await.until(5_000, "the close's access line", () -> {
        synchronized (captured) {
          return captured.list.stream().anyMatch(e -> e.getFormattedMessage().startsWith("websocket[/logs]:")
              && e.getFormattedMessage().contains("close"));
        }
      });
    } finally {
      root.detachAppender(captured);
      captured.stop();
    }
    List<String> lines = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(captured.list)) {
      lines.add(e.getFormattedMessage() + (e.getThrowableProxy() == null ? "" : ThrowableProxyUtil.asString(e.getThrowableProxy())));
    }
    assertTrue(lines.stream().anyMatch(l -> l.contains("backend[/logs]: 204 Broadcasted")), "the access log was captured: " + lines);
    assertTrue(lines.stream().anyMatch(l -> l.contains("websocket[/logs]: 402")), "failed auth logged: " + lines);
    for (String line : lines) {
      for (String secret : secrets) {
        assertFalse(line.toLowerCase().contains(secret.toLowerCase()), "a secret or user data in the log: " + line);
      }
    }
  }

  // ---- admin binding ----

  // ---- admin binding ----

  /** The settings rule is {@code SettingsRulesTest#theAdminEndpointBindsLoopbackByDefault}; here a running node's. */
  @Test
  void aRunningNodesAdminEndpointIsOnLoopback() {
    assertEquals("127.0.0.1", node.node.config().getJsonObject("admin").getString("host"));
  }
}
