package io.webrocket.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import io.webrocket.test.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One test per rule of WBP.md (the client side: framing, identity, commands, connection use),
 * over real sockets against a real node. Workers are in {@link WorkerTest}.
 */
class WbpRulesTest {
  static final List<String> OK = List.of("OK", "");
  static final String OK_BYTES = "OK\n\n\r\n\r\n";

  static TestNode node;
  static AdminClient admin;
  static int vhosts;

  String vhost;
  String token;

  @BeforeAll
  static void startNode() {
    node = TestNode.start();
    admin = node.admin();
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  @BeforeEach
  void freshVhost() {
    vhost = "/rules" + (++vhosts);
    token = node.createVhost(vhost);
  }

  static List<String> er(int code) {
    return List.of("ER", Integer.toString(code));
  }

  String id() {
    return WbpClient.identity("req", vhost, token);
  }

  /** One request on its own connection; asserts the broker closes it after the reply. */
  List<String> oneShot(String... frames) {
    try (WbpClient c = node.wbp()) {
      List<String> reply = c.request(id(), frames);
      assertTrue(c.closedByPeer(), "one-shot connection closed after its reply");
      return reply;
    }
  }

  /** Raw bytes on a fresh connection; everything the broker writes until it closes. */
  String raw(String bytes) {
    try (WbpClient c = node.wbp()) {
      return c.write(bytes).readToEnd();
    }
  }

  WbpClient persistent() {
    WbpClient c = node.wbp();
    assertEquals(OK, c.request(id(), "KA"));
    return c;
  }

  void open(String channel) {
    assertEquals(OK, oneShot("OC", channel));
  }

  /** True if the channel exists: a broadcast on it is accepted. */
  boolean exists(String channel) {
    List<String> r = oneShot("BC", channel, "probe", "{}");
    assertTrue(r.equals(OK) || r.equals(er(454)), r.toString());
    return r.equals(OK);
  }

  // ---- framing ----

  @Test
  void okReplyIsOkThenEmptyFrame() {
    assertEquals(OK_BYTES, raw(WbpClient.message(id(), "OC", "chat")));
  }

  @Test
  void errorReplyIsErWithTheCodeAsOnlyFrame() {
    assertEquals("ER\n454\n\r\n\r\n", raw(WbpClient.message(id(), "CC", "nowhere")));
    assertEquals("ER\n400\n\r\n\r\n", raw(WbpClient.message(id(), "OC")));
  }

  @Test
  void messageInManySegmentsIsDecoded() throws InterruptedException {
    byte[] msg = WbpClient.message(id(), "OC", "chat").getBytes(StandardCharsets.UTF_8);
    try (WbpClient c = node.wbp()) {
      for (byte b : msg) {
        c.write(new byte[] {b});
        if (b == '\n') {
          Thread.sleep(5); // let the segments really go out one by one
        }
      }
      assertEquals(OK_BYTES, c.readToEnd());
    }
    assertTrue(exists("chat"));
  }

  @Test
  void severalMessagesInOneSegmentAreAllServed() {
    try (WbpClient c = node.wbp()) {
      c.write(WbpClient.message(id(), "KA") + WbpClient.message(null, "OC", "a") + WbpClient.message(id(), "OC", "b")
          + WbpClient.message(null, "CC", "a"));
      assertEquals(OK, c.read());
      assertEquals(OK, c.read());
      assertEquals(OK, c.read());
      assertEquals(OK, c.read());
    }
    assertTrue(!exists("a") && exists("b"));
  }

  @Test
  void loneCrLfLineIsAFrameNotAnEnd() {
    try (WbpClient c = persistent()) {
      // One message [OC, c1, "", CC, c1]: OC with extra frames. Read as two, it would close c1.
      c.write("OC\nc1\n\r\nCC\nc1\n\r\n\r\n" + "OC\nc2\n\r\n\r\n");
      assertEquals(OK, c.read());
      assertEquals(OK, c.read());
    }
    assertTrue(exists("c1"));
    assertTrue(exists("c2"));
  }

  @Test
  void emptyLineIsAnEmptyFrame() {
    // [OC, "", chat]: the channel frame is the empty one.
    assertEquals("ER\n400\n\r\n\r\n", raw(id() + "\n\nOC\n\nchat\n\r\n\r\n"));
    assertTrue(!exists("chat"));
  }

  @Test
  void trailingCrIsRemovedFromLines() {
    // Every line ended with \r\n, as a Windows client might; the \r never reaches a name.
    assertEquals(OK_BYTES, raw(id() + "\r\n\r\nOC\r\nchat\r\n\r\n\r\n"));
    assertTrue(exists("chat"));
  }

  @Test
  void defaultSizeLimitIsAtLeast64KiB() {
    open("big");
    String head = id() + "\n\nBC\nbig\nev\n{\"p\":\"";
    String tail = "\"}\n\r\n\r\n";
    String msg = head + "x".repeat(64 * 1024 - head.length() - tail.length()) + tail;
    assertEquals(64 * 1024, msg.length());
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("big");
      assertEquals(OK_BYTES, raw(msg));
      assertEquals(64 * 1024 - head.length() - tail.length(), browser.expect("ev").getString("p").length());
    }
  }

  @Test
  void sizeLimitIsConfigurable() {
    try (TestNode n = TestNode.start(new JsonObject().put("backend", new JsonObject().put("maxMessageSize", 16 * 1024)))) {
      String t = n.createVhost("/small");
      n.openChannel("/small", "c");
      String head = WbpClient.identity("req", "/small", t) + "\n\nBC\nc\nev\n{\"p\":\"";
      String tail = "\"}\n\r\n\r\n";
      String exact = head + "x".repeat(16 * 1024 - head.length() - tail.length()) + tail;
      try (WbpClient c = n.wbp()) {
        assertEquals(OK_BYTES, c.write(exact).readToEnd());
      }
      String over = head + "x".repeat(16 * 1024 - head.length() - tail.length() + 1) + tail;
      try (WbpClient c = n.wbp()) {
        assertEquals(List.of("ER", "400"), c.write(over).read());
      }
      try (WbpClient c = n.wbp()) {
        assertEquals(OK, c.request(WbpClient.identity("req", "/small", t), "OC", "d"));
      }
    }
  }

  @Test
  void oversizedMessageGetsErrorAndNodeKeepsServing() {
    try (WbpClient c = node.wbp()) {
      // A huge line that never ends: refused without waiting for a newline.
      c.write(id() + "\n\nBC\nchat\nev\n{\"p\":\"");
      byte[] chunk = "y".repeat(8192).getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < 16; i++) {
        c.write(chunk);
      }
      assertEquals(er(400), c.read());
    }
    open("chat");
    assertTrue(exists("chat"));
  }

  @Test
  void oversizedMessageInPersistentModeIsAnsweredInOrder() {
    try (WbpClient c = persistent()) {
      c.write(WbpClient.message(null, "OC", "before") + "OC\n" + "z".repeat(70 * 1024) + "\n\r\n\r\n");
      assertEquals(OK, c.read());
      assertEquals(er(400), c.read());
    }
    assertTrue(exists("before"));
  }

  @Test
  void kosmonautJavaBytesWork() {
    open("chat");
    // identity, "\n", "\n", each frame + "\n", then "\n\r\n\r\n" and one more "\n"; reply read until EOF.
    String bytes = id() + "\n" + "\n" + "BC\n" + "chat\n" + "message\n" + "{\"text\":\"hi\"}\n" + "\n\r\n\r\n" + "\n";
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("chat");
      assertEquals(OK_BYTES, raw(bytes));
      assertEquals(new JsonObject().put("text", "hi").put("channel", "chat"), browser.expect("message"));
    }
    assertEquals(OK_BYTES, raw(id() + "\n\nOC\nother\n\n\r\n\r\n\n"));
    assertEquals("ER\n454\n\r\n\r\n", raw(id() + "\n\nCC\nnowhere\n\n\r\n\r\n\n"));
    String at = raw(id() + "\n\nAT\nuser1\n.*\n\n\r\n\r\n\n");
    assertTrue(at.matches("AT\n[0-9a-f]{128}\n\r\n\r\n"), at);
  }

  @Test
  void rubyClientBytesWork() {
    open("chat");
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("chat");
      assertEquals(OK_BYTES, raw(id() + "\n\n" + String.join("\n", "BC", "chat", "ev", "{\"a\":1}") + "\n\r\n\r\n"));
      assertEquals(new JsonObject().put("a", 1).put("channel", "chat"), browser.expect("ev"));
    }
  }

  // ---- identity ----

  @Test
  void malformedIdentityIs402AndCloses() {
    String uuid = UUID.randomUUID().toString();
    for (String bad : List.of(
        "xyz:" + vhost + ":" + token + ":" + uuid,
        "req:" + vhost.substring(1) + ":" + token + ":" + uuid,
        "req:" + vhost + ":" + token.substring(1) + ":" + uuid,
        "req:" + vhost + ":" + token + "0:" + uuid,
        "req:" + vhost + ":" + token + ":" + uuid.substring(1),
        "req:" + vhost + ":" + token,
        "req::" + token + ":" + uuid,
        "req:" + vhost + ":" + token + ":" + uuid + ":x")) {
      try (WbpClient c = node.wbp()) {
        assertEquals(er(402), c.request(bad, "OC", "chat"), bad);
        assertTrue(c.closedByPeer(), bad);
      }
    }
    assertTrue(!exists("chat"));
  }

  @Test
  void unknownVhostIs402() {
    try (WbpClient c = node.wbp()) {
      assertEquals(er(402), c.request(WbpClient.identity("req", "/no-such-vhost", token), "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
  }

  @Test
  void wrongTokenIs402() {
    String wrong = "0".repeat(40);
    String[][] requests = {
        {"OC", "chat"}, {"CC", "chat"}, {"BC", "chat", "ev", "{}"}, {"AT", "u", ".*"}, {"KA"},
        {"XX"}, {"OC"}, {"BC", "chat", ":ev", "{}"}, {"BC", "chat", "ev", "[]"}, {"AT", "u", "("}};
    for (String[] frames : requests) {
      try (WbpClient c = node.wbp()) {
        assertEquals(er(402), c.request(WbpClient.identity("req", vhost, wrong), frames), String.join(" ", frames));
        assertTrue(c.closedByPeer(), String.join(" ", frames));
      }
    }
  }

  @Test
  void requestWithoutIdentityOnFreshConnectionIs402() {
    try (WbpClient c = node.wbp()) {
      assertEquals(er(402), c.request(null, "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(er(402), c.request(null, "KA"));
      assertTrue(c.closedByPeer());
    }
    assertTrue(!exists("chat"));
  }

  @Test
  void regeneratedTokenStopsWorkingAtOnce() {
    String old = token;
    try (WbpClient kept = persistent()) {
      assertEquals(302, admin.call("PUT", vhost + "/token").statusCode());
      token = admin.token(vhost);
      assertEquals(40, token.length());
      assertTrue(!token.equals(old));
      // A persistent connection that identified with the old token is sent QT and closed (issue
      // 12); a request it sent before QT arrived is refused.
      List<String> reply = kept.request(null, "OC", "chat");
      assertTrue(reply.equals(List.of("QT", "")) || reply.equals(er(402)), reply.toString());
      assertTrue(kept.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(er(402), c.request(WbpClient.identity("req", vhost, old), "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
    assertTrue(!exists("chat"));
    open("chat");
    assertTrue(exists("chat"));
  }

  // ---- OC ----

  @Test
  void openChannelIsOk() {
    assertEquals(OK, oneShot("OC", "chat"));
    try (WsClient browser = node.ws(vhost)) {
      assertEquals("chat", browser.subscribe("chat").getString("channel"));
    }
  }

  @Test
  void openChannelTwiceIsOk() {
    assertEquals(OK, oneShot("OC", "chat"));
    assertEquals(OK, oneShot("OC", "chat"));
    assertTrue(exists("chat"));
  }

  @Test
  void openWithoutChannelIs400() {
    assertEquals(er(400), oneShot("OC"));
    assertEquals(er(400), oneShot("OC", ""));
  }

  @Test
  void openInvalidNameIs451() {
    for (String bad : List.of("bad name", "-chat", ".chat", "chat!", "ch/at", "é", "x".repeat(129))) {
      assertEquals(er(451), oneShot("OC", bad), bad);
    }
    assertEquals(OK, oneShot("OC", "x".repeat(128)));
    assertEquals(OK, oneShot("OC", "_A-z.9"));
  }

  @Test
  void openedChannelTypeComesFromName() {
    open("private-room");
    open("presence-room");
    open("room");
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("room");
      browser.send("subscribe", new JsonObject().put("channel", "private-room"));
      browser.expectError(403);
      browser.send("subscribe", new JsonObject().put("channel", "presence-room"));
      browser.expectError(403);
      List<String> at = oneShot("AT", "u1", ".*-room");
      browser.auth(at.get(1));
      browser.subscribe("private-room");
      assertTrue(browser.subscribe("presence-room").containsKey("subscribers"));
    }
  }

  // ---- CC ----

  @Test
  void closeChannelIsOk() {
    open("chat");
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("chat");
      assertEquals(OK, oneShot("CC", "chat"));
      assertEquals(er(454), oneShot("BC", "chat", "ev", "{}"));
      browser.send("subscribe", new JsonObject().put("channel", "chat"));
      browser.expectError(454);
    }
  }

  @Test
  void closeWithoutChannelIs400() {
    assertEquals(er(400), oneShot("CC"));
  }

  @Test
  void closeMissingChannelIs454() {
    assertEquals(er(454), oneShot("CC", "nowhere"));
  }

  // ---- BC ----

  @Test
  void broadcastReachesSubscribersWithChannelKey() {
    open("chat");
    open("other");
    try (WsClient a = node.ws(vhost); WsClient b = node.ws(vhost); WsClient elsewhere = node.ws(vhost)) {
      a.subscribe("chat");
      b.subscribe("chat");
      elsewhere.subscribe("other");
      // The spec's example request, byte for byte.
      String bytes = id() + "\n\nBC\nchat\nmessage\n{\"text\":\"hi\",\"channel\":\"forged\",\"n\":[1,{\"x\":null}]}\n\r\n\r\n";
      assertEquals(OK_BYTES, raw(bytes));
      JsonObject expected = new JsonObject().put("text", "hi").put("channel", "chat")
          .put("n", new io.vertx.core.json.JsonArray().add(1).add(new JsonObject().putNull("x")));
      assertEquals(expected, a.expect("message"));
      assertEquals(expected, b.expect("message"));
      elsewhere.expectSilence(200);
    }
  }

  @Test
  void broadcastWithoutChannelOrEventIs400() {
    open("chat");
    assertEquals(er(400), oneShot("BC"));
    assertEquals(er(400), oneShot("BC", "chat"));
    assertEquals(er(400), oneShot("BC", "", "ev", "{}"));
    assertEquals(er(400), oneShot("BC", "chat", "", "{}"));
  }

  @Test
  void broadcastEventWithColonIs400() {
    open("chat");
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("chat");
      assertEquals(er(400), oneShot("BC", "chat", ":connected", "{}"));
      assertEquals(er(400), oneShot("BC", "chat", ":", "{}"));
      browser.expectSilence(200);
      assertEquals(OK, oneShot("BC", "chat", "a:b", "{}"));
      assertEquals(new JsonObject().put("channel", "chat"), browser.expect("a:b"));
    }
  }

  @Test
  void broadcastToMissingChannelIs454() {
    assertEquals(er(454), oneShot("BC", "nowhere", "ev", "{}"));
  }

  @Test
  void broadcastDataNotObjectIs400() {
    open("chat");
    try (WsClient browser = node.ws(vhost)) {
      browser.subscribe("chat");
      for (String data : List.of("[]", "[1]", "\"s\"", "1", "null", "true", "not json", "{", "{\"a\":}", "{'a':1}")) {
        assertEquals(er(400), oneShot("BC", "chat", "ev", data), data);
      }
      assertEquals(er(400), oneShot("BC", "chat", "ev"));
      browser.expectSilence(200);
    }
  }

  @Test
  void broadcastToPrivateChannelReachesAuthorizedSubscriber() {
    open("private-x");
    try (WsClient browser = node.ws(vhost)) {
      browser.auth(oneShot("AT", "u1", "private-.*").get(1));
      browser.subscribe("private-x");
      assertEquals(OK, oneShot("BC", "private-x", "ev", "{\"k\":\"v\"}"));
      assertEquals(new JsonObject().put("k", "v").put("channel", "private-x"), browser.expect("ev"));
    }
  }

  // ---- AT ----

  @Test
  void accessTokenIs128Hex() {
    List<String> reply = oneShot("AT", "user1", ".*");
    assertEquals(2, reply.size(), reply.toString());
    assertEquals("AT", reply.get(0));
    assertTrue(reply.get(1).matches("[0-9a-f]{128}"), reply.get(1));
    assertTrue(!reply.get(1).equals(oneShot("AT", "user1", ".*").get(1)), "fresh each time");
    try (WsClient browser = node.ws(vhost); WsClient second = node.ws(vhost)) {
      browser.auth(reply.get(1));
      second.send("auth", new JsonObject().put("token", reply.get(1)));
      second.expectError(402);
    }
  }

  @Test
  void accessTokenWithoutUidOrPatternIs400() {
    assertEquals(er(400), oneShot("AT"));
    assertEquals(er(400), oneShot("AT", "user1"));
    assertEquals(er(400), oneShot("AT", "", ".*"));
    assertEquals(er(400), oneShot("AT", "user1", ""));
  }

  @Test
  void accessTokenInvalidRegexIs400() {
    for (String bad : List.of("(", "[a-", "*", "a{2,1}", "(?<n)")) {
      assertEquals(er(400), oneShot("AT", "user1", bad), bad);
    }
  }

  // ---- anything else ----

  @Test
  void unknownCommandIs400() {
    for (String cmd : List.of("XX", "oc", "RD", "TR", "ER", "OK", "")) {
      assertEquals(er(400), oneShot(cmd, "chat"), cmd);
    }
    assertTrue(!exists("chat"));
  }

  // ---- connection use ----

  @Test
  void replyThenCloseByDefault() {
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id(), "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(er(454), c.request(id(), "CC", "nowhere"));
      assertTrue(c.closedByPeer(), "an error closes a one-shot connection too");
    }
  }

  @Test
  void oneShotIgnoresEverythingAfterItsRequest() {
    try (WbpClient c = node.wbp()) {
      c.write(WbpClient.message(id(), "OC", "first") + WbpClient.message(id(), "OC", "second")
          + "garbage\n" + "g".repeat(100 * 1024));
      assertEquals(OK_BYTES, c.readToEnd());
    }
    assertTrue(exists("first"));
    assertTrue(!exists("second"));
  }

  // ---- persistent mode ----

  @Test
  void keepAliveKeepsConnectionOpen() throws InterruptedException {
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id(), "KA"));
      c.setTimeout(500);
      assertTrue(!c.closedByPeer(), "still open after OK");
      c.setTimeout(WbpClient.TIMEOUT_MS);
      assertEquals(OK, c.request(null, "OC", "chat"));
      assertEquals(OK, c.request(null, "KA"));
      assertEquals(OK, c.request(null, "CC", "chat"));
    }
  }

  @Test
  void requestsWithoutIdentityAfterKeepAlive() {
    open("chat");
    try (WsClient browser = node.ws(vhost); WbpClient c = persistent()) {
      browser.subscribe("chat");
      assertEquals(OK, c.request(null, "OC", "room"));
      assertEquals(OK, c.request(null, "BC", "chat", "ev", "{}"));
      assertEquals(new JsonObject().put("channel", "chat"), browser.expect("ev"));
      List<String> at = c.request(null, "AT", "u", ".*");
      assertEquals("AT", at.get(0));
      assertEquals(128, at.get(1).length());
      assertEquals(OK, c.request(null, "CC", "room"));
    }
  }

  @Test
  void requestsWithIdentityAfterKeepAlive() {
    try (WbpClient c = persistent()) {
      assertEquals(OK, c.request(id(), "OC", "room"));
      assertEquals(OK, c.request(id(), "CC", "room"));
      assertEquals(OK, c.request(null, "OC", "room"));
    }
    assertTrue(exists("room"));
  }

  @Test
  void pipelinedRequestsReplyInOrder() {
    open("feed");
    try (WsClient browser = node.ws(vhost); WbpClient c = persistent()) {
      browser.subscribe("feed");
      StringBuilder out = new StringBuilder();
      List<List<String>> expected = new ArrayList<>();
      int broadcasts = 0;
      for (int i = 0; i < 200; i++) {
        String ident = i % 3 == 0 ? id() : null;
        switch (i % 8) {
          case 0 -> { out.append(WbpClient.message(ident, "OC", "ch" + i)); expected.add(OK); }
          // Takes effect after the OC just before it, or it would be 454.
          case 1 -> { out.append(WbpClient.message(ident, "BC", "ch" + (i - 1), "ev", "{}")); expected.add(OK); }
          case 2 -> { out.append(WbpClient.message(ident, "CC", "ch" + (i - 2))); expected.add(OK); }
          // Takes effect after the CC just before it, or it would be OK.
          case 3 -> { out.append(WbpClient.message(ident, "BC", "ch" + (i - 3), "ev", "{}")); expected.add(er(454)); }
          case 4 -> { out.append(WbpClient.message(ident, "XX")); expected.add(er(400)); }
          case 5 -> { out.append(WbpClient.message(ident, "AT", "u" + i, ".*")); expected.add(null); }
          case 6 -> { out.append(WbpClient.message(ident, "KA")); expected.add(OK); }
          default -> {
            out.append(WbpClient.message(ident, "BC", "feed", "n", "{\"n\":" + broadcasts++ + "}"));
            expected.add(OK);
          }
        }
        if (i % 10 == 9) {
          out.append("\n"); // a stray empty line now and then
        }
      }
      c.write(out.toString());
      for (int i = 0; i < expected.size(); i++) {
        List<String> reply = c.read();
        if (expected.get(i) == null) {
          assertEquals("AT", reply.get(0), "reply " + i);
          assertEquals(128, reply.get(1).length(), "reply " + i);
        } else {
          assertEquals(expected.get(i), reply, "reply " + i);
        }
      }
      for (int n = 0; n < broadcasts; n++) {
        assertEquals(new JsonObject().put("n", n).put("channel", "feed"), browser.expect("n"));
      }
      assertEquals(OK, c.request(null, "KA"));
    }
  }

  @Test
  void thousandsOfPipelinedRequestsAreAllAnsweredInOrder() {
    open("chat");
    try (WbpClient c = persistent()) {
      StringBuilder out = new StringBuilder();
      for (int i = 0; i < 3000; i++) {
        out.append(i % 2 == 0 ? WbpClient.message(null, "BC", "chat", "ev", "{}") : WbpClient.message(null, "CC", "x"));
      }
      c.write(out.toString());
      for (int i = 0; i < 3000; i++) {
        assertEquals(i % 2 == 0 ? OK : er(454), c.read(), "reply " + i);
      }
    }
  }

  @Test
  void pipelineLongerThanTheConfiguredLimitIsServedInFull() {
    for (int limit : new int[] {1, 2, 3}) {
      try (TestNode n = TestNode.start(new JsonObject().put("backend", new JsonObject().put("maxPipelined", limit)))) {
        String t = n.createVhost("/p");
        try (WbpClient c = n.wbp()) {
          assertEquals(OK, c.request(WbpClient.identity("req", "/p", t), "KA"));
          assertEquals(OK, c.request(null, "OC", "known"));
          // KA and OC wait for a later pass; a BC to a channel the node knows is answered at
          // once, into the same ordered replies (while reading is paused at the bound too).
          StringBuilder out = new StringBuilder();
          for (int i = 0; i < 60; i++) {
            out.append(switch (i % 4) {
              case 0 -> WbpClient.message(null, "KA");
              case 1 -> WbpClient.message(null, "XX");
              case 2 -> WbpClient.message(null, "BC", "known", "e", "{}");
              default -> WbpClient.message(null, "OC", "c" + i);
            });
          }
          c.write(out.toString());
          for (int i = 0; i < 60; i++) {
            assertEquals(i % 4 == 1 ? er(400) : OK, c.read(), "limit " + limit + ", reply " + i);
          }
        }
      }
    }
  }

  @Test
  void strayEmptyLinesBetweenMessagesAreIgnored() {
    try (WbpClient c = persistent()) {
      c.write("\n\n\n" + WbpClient.message(null, "OC", "a") + "\n\n" + WbpClient.message(null, "OC", "b") + "\n");
      assertEquals(OK, c.read());
      assertEquals(OK, c.read());
      c.write("\r\n" + WbpClient.message(null, "OC", "c"));
      assertEquals(OK, c.read());
    }
    assertTrue(exists("a") && exists("b") && exists("c"));
  }

  @Test
  void errorDoesNotClosePersistentConnection() {
    try (WbpClient c = persistent()) {
      assertEquals(er(454), c.request(null, "CC", "nowhere"));
      assertEquals(er(451), c.request(null, "OC", "bad name"));
      assertEquals(er(400), c.request(null, "XX"));
      assertEquals(er(400), c.request(null, "BC", "x", "ev", "[]"));
      assertEquals(er(400), c.request(null, "AT", "u", "("));
      assertEquals(OK, c.request(null, "OC", "chat"));
    }
    assertTrue(exists("chat"));
  }

  @Test
  void failedIdentityClosesPersistentConnection() {
    String uuid = UUID.randomUUID().toString();
    try (WbpClient c = persistent()) {
      assertEquals(er(402), c.request(WbpClient.identity("req", vhost, "f".repeat(40)), "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = persistent()) {
      assertEquals(er(402), c.request(WbpClient.identity("req", "/no-such-vhost", token), "OC", "chat"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = persistent()) {
      // Pipelined: the earlier request's reply comes first, then the 402, then the end.
      c.write(WbpClient.message(null, "OC", "before") + WbpClient.message("req:" + vhost + ":bad:" + uuid, "OC", "chat"));
      assertEquals(OK, c.read());
      assertEquals(er(402), c.read());
      assertTrue(c.closedByPeer());
    }
    assertTrue(exists("before"));
    assertTrue(!exists("chat"));
  }

  @Test
  void persistentIdleConnectionIsClosed() throws InterruptedException {
    long idleMs = 2500;
    try (TestNode n = TestNode.start(new JsonObject().put("backend", new JsonObject().put("idleTimeoutMs", idleMs)))) {
      String t = n.createVhost("/idle");
      try (WbpClient c = n.wbp()) {
        assertEquals(OK, c.request(WbpClient.identity("req", "/idle", t), "KA"));
        for (int i = 0; i < 2; i++) {
          // Pacing: idle, but 1.2 s less than the idle timeout, room for a loaded machine's stall.
          Await.pause(idleMs - 1200);
          assertEquals(OK, c.request(null, "KA"), "not closed before the idle time");
        }
        long last = System.nanoTime();
        c.setTimeout((int) idleMs + 3000);
        assertTrue(c.closedByPeer());
        long idle = (System.nanoTime() - last) / 1_000_000;
        assertTrue(idle >= idleMs - 100, "closed after " + idle + " ms");
      }
    }
  }


  // ---- TLS ----

  @Test
  void backendSpeaksTls() throws Exception {
    // A self-signed pair for tests only (openssl req -x509, 100 years): generating one takes seconds.
    JsonObject tls = new JsonObject().put("cert", resource("/tls/localhost.crt")).put("key", resource("/tls/localhost.key"));
    JsonObject config = new JsonObject().put("tls", tls).put("vhosts", new JsonObject().put("/tls", new JsonObject()));
    try (TestNode n = TestNode.start(config)) {
      // The admin endpoint speaks TLS too: ask the registry for the token directly.
      JsonObject info = (JsonObject) Bus.request(n.node.vertx(), Addresses.vhost("/tls"), "info", new JsonObject())
          .await().body();
      String t = info.getString("accessToken");
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, new TrustManager[] {new TrustAll()}, null);
      try (SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", n.backendPort)) {
        s.setSoTimeout(WbpClient.TIMEOUT_MS);
        s.getOutputStream().write(WbpClient.message(WbpClient.identity("req", "/tls", t), "OC", "chat")
            .getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        assertEquals(OK_BYTES, readAll(s.getInputStream()));
      }
    }
  }

  private static String resource(String name) throws java.net.URISyntaxException {
    return java.nio.file.Path.of(WbpRulesTest.class.getResource(name).toURI()).toString();
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    in.transferTo(all);
    return all.toString(StandardCharsets.UTF_8);
  }

  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
