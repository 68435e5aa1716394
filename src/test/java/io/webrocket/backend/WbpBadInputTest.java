package io.webrocket.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input on the backend port: each gets the protocol's answer (or none) and never keeps the
 * node from serving the next, well-behaved client.
 */
class WbpBadInputTest {
  static final List<String> OK = List.of("OK", "");

  static TestNode node;
  static int vhosts;

  String vhost;
  String token;

  @BeforeAll
  static void startNode() {
    node = TestNode.start(new JsonObject().put("backend", new JsonObject().put("idleTimeoutMs", 2000)));
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  @BeforeEach
  void freshVhost() {
    vhost = "/bad" + (++vhosts);
    token = node.createVhost(vhost);
  }

  /** Whatever came before, a fresh client is served, on this vhost and on a new one. */
  @AfterEach
  void freshClientIsStillServed() {
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id(), "OC", "after"));
      assertTrue(c.closedByPeer());
    }
    String other = vhost + "x";
    String t = node.createVhost(other);
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(WbpClient.identity("req", other, t), "KA"));
      assertEquals(OK, c.request(null, "OC", "after"));
    }
  }

  String id() {
    return WbpClient.identity("req", vhost, token);
  }

  boolean exists(String channel) {
    try (WbpClient c = node.wbp()) {
      return c.request(id(), "BC", channel, "probe", "{}").equals(OK);
    }
  }

  /** What the broker sent within {@code ms}, and whether it closed; never throws. */
  static String drain(WbpClient c, int ms) {
    c.setTimeout(ms);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try {
      while (true) {
        List<String> m = c.read();
        got.writeBytes((String.join("\n", m) + "\n\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      }
    } catch (AssertionError e) {
      return got.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void randomBytesGetAnErrorOrNothing() {
    Random random = new Random(20120101);
    for (int i = 0; i < 24; i++) {
      byte[] b = new byte[1 + random.nextInt(6000)];
      random.nextBytes(b);
      if (i % 2 == 0) {
        for (int k = 0; k < b.length; k += 1 + random.nextInt(30)) {
          b[k] = (byte) "\n\r:".charAt(random.nextInt(3));
        }
      }
      if (i % 3 == 0) {
        b = concat(b, "\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      try (WbpClient c = node.wbp()) {
        c.write(b);
        String got = drain(c, 150);
        // Only whole protocol errors, and at most one: the connection ends with it.
        assertTrue(got.isEmpty() || got.equals("ER\n402\n\r\n\r\n") || got.equals("ER\n400\n\r\n\r\n")
            || got.equals("QT\n\n\r\n\r\n"), "round " + i + ": " + got);
      }
    }
  }

  @Test
  void randomBytesAfterKeepAliveGetErrorsAndTheConnectionEnds() {
    Random random = new Random(5);
    byte[] b = new byte[200_000];
    random.nextBytes(b);
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id(), "KA"));
      c.write(b);
      // 200 KB of noise goes over the size limit sooner or later: 400, then the end.
      String got = drain(c, 3000);
      assertTrue(got.endsWith("ER\n400\n\r\n\r\n") || got.endsWith("ER\n402\n\r\n\r\n"), got);
      assertTrue(c.closedByPeer());
    }
  }

  @Test
  void truncatedMessagesHaveNoEffect() {
    byte[] full = WbpClient.message(id(), "OC", "never").getBytes(StandardCharsets.UTF_8);
    for (int cut = 1; cut < full.length; cut += Math.max(1, cut / 4)) {
      try (WbpClient c = node.wbp()) {
        c.write(java.util.Arrays.copyOf(full, cut));
        if (cut % 9 == 0) {
          assertEquals("", drain(c, 50), "cut at " + cut);
        }
      } // closed by the client mid-message
    }
    assertTrue(!exists("never"));
  }

  @Test
  void truncatedMessageWaitsForItsEnd() {
    byte[] full = WbpClient.message(id(), "OC", "later").getBytes(StandardCharsets.UTF_8);
    try (WbpClient c = node.wbp()) {
      c.write(java.util.Arrays.copyOf(full, full.length - 1));
      assertEquals("", drain(c, 300));
      c.setTimeout(WbpClient.TIMEOUT_MS);
      c.write(new byte[] {full[full.length - 1]});
      assertEquals(OK, c.read());
    }
    assertTrue(exists("later"));
  }

  @Test
  void persistentClientVanishingWithRequestsInFlight() {
    for (int i = 0; i < 5; i++) {
      WbpClient c = node.wbp();
      assertEquals(OK, c.request(id(), "KA"));
      StringBuilder b = new StringBuilder();
      for (int k = 0; k < 200; k++) {
        b.append(WbpClient.message(null, "OC", "c" + k % 7)).append(WbpClient.message(null, "BC", "c" + k % 7, "e", "{}"));
      }
      b.append("OC\nhalf");
      c.write(b.toString());
      c.close();
    }
  }

  @Test
  void malformedIdentitiesAre402() {
    String uuid = UUID.randomUUID().toString();
    for (String bad : List.of(
        "req:" + vhost + "::" + uuid,
        "req:" + vhost + ":" + token + ":",
        "req:" + vhost + ":" + token.toUpperCase().replace('A', 'Ä') + ":" + uuid,
        "req:" + vhost + ":" + token + ":" + uuid.replace('-', '\0'),
        "req:" + vhost + "\0:" + token + ":" + uuid,
        " req:" + vhost + ":" + token + ":" + uuid,
        "req :" + vhost + ":" + token + ":" + uuid,
        "req:" + vhost + ":" + token + ":" + "x".repeat(10_000),
        ":".repeat(5000),
        "req:" + vhost + "/../x:" + token + ":" + uuid,
        "dlr:" + vhost + ":" + token.substring(2) + ":" + uuid + "ab")) {
      try (WbpClient c = node.wbp()) {
        assertEquals(List.of("ER", "402"), c.request(bad, "OC", "chat"), bad);
        assertTrue(c.closedByPeer(), bad);
      }
    }
    assertTrue(!exists("chat"));
  }

  @Test
  void invalidJsonInBroadcastIs400() {
    try (WbpClient c = node.wbp()) {
      assertEquals(OK, c.request(id(), "KA"));
      assertEquals(OK, c.request(null, "OC", "chat"));
      try (WsClient browser = node.ws(vhost)) {
        browser.subscribe("chat");
        for (String data : List.of(
            "{", "}", "{\"a\":1", "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":NaN}",
            "{\"a\":1}x", "{}{}", "{\"a\":\"\\x\"}", "\0", "{\"a\":\"\0\"}", " ",
            "{\"a\":".repeat(3000) + "1" + "}".repeat(3000))) {
          assertEquals(List.of("ER", "400"), c.request(null, "BC", "chat", "ev", data), data.length() > 40 ? "deep" : data);
        }
        byte[] notUtf8 = concat("BC\nchat\nev\n{\"a\":\"".getBytes(StandardCharsets.US_ASCII),
            new byte[] {(byte) 0xff, (byte) 0xfe}, "\"}\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        c.write(notUtf8);
        List<String> r = c.read(); // either refused or delivered with replacement characters, never a crash
        assertTrue(r.equals(List.of("ER", "400")) || r.equals(OK), r.toString());
        if (r.equals(OK)) {
          browser.expect("ev");
        }
        browser.expectSilence(100);
        assertEquals(OK, c.request(null, "BC", "chat", "ev", "{\"ok\":true}"));
        assertEquals(new JsonObject().put("ok", true).put("channel", "chat"), browser.expect("ev"));
      }
    }
  }

  @Test
  void garbageOnAWorkerConnectionIsRefusedAndTheWorkerStays() {
    String worker = WbpClient.identity("dlr", vhost, token);
    try (WbpClient c = node.wbp()) {
      c.write(WbpClient.message(worker, "RD"));
      assertEquals(List.of("HB", ""), c.read());
      c.write(WbpClient.message(null, "OC", "chat") + WbpClient.message(null, "XX") + "\n\n\r\n\r\n");
      int errors = 0;
      for (int i = 0; i < 20 && errors < 2; i++) {
        List<String> m = c.read();
        if (m.get(0).equals("ER")) {
          assertEquals(List.of("ER", "400"), m);
          errors++;
        } else {
          assertEquals(List.of("HB", ""), m);
        }
      }
      assertEquals(2, errors);
      c.write(WbpClient.message(null, "HB"));
      assertEquals(List.of("HB", ""), c.read());
    }
    assertTrue(!exists("chat"));
  }

  @Test
  void manyConnectionsClosedAbruptly() {
    for (int i = 0; i < 50; i++) {
      WbpClient c = node.wbp();
      if (i % 2 == 0) {
        c.write(id());
      }
      c.close();
    }
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
