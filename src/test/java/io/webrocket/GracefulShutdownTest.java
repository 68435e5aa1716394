package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM against a running broker (a separate JVM) with connected browsers, a worker and a
 * persistent backend client: it ends within the shutdown timeout, browsers get close 1001,
 * workers QT. Its access log has a line per request and no secret.
 */
class GracefulShutdownTest {

  @Test
  void sigtermClosesBrowsersWith1001TellsWorkersQuitAndEndsWithinTheTimeout() throws Exception {
    Path work = Files.createTempDirectory("webrocket-term");
    int ws = TestNode.freePort();
    int be = TestNode.freePort();
    int ad = TestNode.freePort();
    try (ChildJvm child = ChildJvm.start(work, List.of("-Dwebrocket.shutdown.timeoutMs=5000"), Map.of(),
        "-storage-dir", work.resolve("data").toString(),
        "-websocket-addr", "127.0.0.1:" + ws, "-backend-addr", "127.0.0.1:" + be, "-admin-addr", "127.0.0.1:" + ad)) {
      String cookie = child.awaitStarted();
      AdminClient admin = new AdminClient(ad, cookie);
      String token = admin.createVhost("/term");

      try (WsClient browser = WsClient.connect(ws, "/term"); WbpClient worker = WbpClient.connect(be);
          WbpClient client = WbpClient.connect(be)) {
        assertEquals(List.of("OK", ""), client.request(WbpClient.identity("req", "/term", token), "KA"));
        assertEquals(List.of("OK", ""), client.request(null, "OC", "news"));
        browser.subscribe("news");
        worker.write(WbpClient.message(WbpClient.identity("dlr", "/term", token), "RD"));
        assertEquals("HB", worker.read().get(0));
        assertEquals("OK", client.request(null, "BC", "news", "hello", "{\"secret\":\"p4yl0ad\"}").get(0));
        assertEquals("news", browser.expect("hello").getString("channel"));
        // Access lines are written by an async appender: wait for the last one before stopping.
        child.awaitStdout(l -> l.contains("204 Broadcasted"), 5_000);

        long start = System.nanoTime();
        child.terminate();

        assertEquals(1001, browser.awaitClose(), "browsers are told the server is going away");
        String got;
        do {
          got = worker.read().get(0);
        } while (got.equals("HB"));
        assertEquals("QT", got, "workers are told to reconnect elsewhere");
        assertTrue(worker.closedByPeer());
        assertTrue(client.closedByPeer(), "the idle persistent client is closed");
        child.awaitExit(8_000);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMs < 7_000, "ended within the 5 s timeout (+ JVM exit): " + tookMs + " ms");
      }

      String access = String.join("\n", child.stdout().lines().filter(l -> l.contains("webrocket.access")).toList());
      assertTrue(access.contains("backend[/term]: 250 Channel opened; [OC, news]"), child.describe());
      assertTrue(access.contains("backend[/term]: 204 Broadcasted; [BC, news, hello, …]"), access);
      assertTrue(access.contains("websocket[/term]: 202 Subscribed; {\"subscribe\":{\"channel\":\"news\"}}"), access);
      assertTrue(access.contains("req:/term:***:"), "the identity's token is masked: " + access);
      String logs = child.stdout().lines().filter(l -> !l.trim().startsWith("cookie:")).reduce("", (a, b) -> a + b + "\n")
          + child.stderr();
      assertFalse(logs.contains(token), "no vhost token in the logs");
      assertFalse(logs.contains(cookie), "no cookie in the logs (only on the banner's cookie line)");
      assertFalse(logs.contains("p4yl0ad"), "no user data in the logs");
    }
  }

  @Test
  void accessLogCanBeJsonLinesAndTurnedOff() throws Exception {
    Path work = Files.createTempDirectory("webrocket-json");
    int ws = TestNode.freePort();
    int be = TestNode.freePort();
    int ad = TestNode.freePort();
    try (ChildJvm child = ChildJvm.start(work, List.of("-Dwebrocket.log.format=json"), Map.of(),
        "-storage-dir", work.resolve("data").toString(),
        "-websocket-addr", "127.0.0.1:" + ws, "-backend-addr", "127.0.0.1:" + be, "-admin-addr", "127.0.0.1:" + ad)) {
      String cookie = child.awaitStarted();
      String token = new AdminClient(ad, cookie).createVhost("/json");
      try (WbpClient client = WbpClient.connect(be)) {
        client.request(WbpClient.identity("req", "/json", token), "OC", "c");
      }
      String line = child.awaitStdout(l -> l.contains("250 Channel opened"), 10_000);
      JsonObject event = new JsonObject(line);
      assertEquals("webrocket.access", event.getString("loggerName"));
      assertEquals("INFO", event.getString("level"));
    }
  }
}
