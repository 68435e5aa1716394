package io.webrocket.webrocketjs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * webrocket.js in Node against a real node: the ES module and CommonJS forms as served, global
 * WebSocket (Node 22; Node 20 and 21 need {@code --experimental-websocket}), authentication
 * through a callback, presence, a dropped connection with reconnect and re-authentication.
 * Skipped where {@code node} is not installed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebRocketJsNodeTest {
  @Test
  void nodeClientConnectsAuthenticatesAndReconnects() throws Exception {
    int major = nodeMajor();
    Assumptions.assumeTrue(major >= 20, "node >= 20 is needed (found " + major + ")");
    Path script = Files.createTempFile("node-client", ".mjs");
    try (InputStream in = WebRocketJsNodeTest.class.getResourceAsStream("/webrocketjs/node-client.mjs");
        TestNode n = TestNode.start()) {
      Files.write(script, in.readAllBytes());
      String token = n.createVhost("/node");
      String[] tokens = new String[2];
      try (WbpClient c = WbpClient.connect(n.backendPort)) {
        assertEquals("OK", c.request(WbpClient.identity("req", "/node", token), "OC", "presence-node").get(0));
      }
      for (int i = 0; i < 2; i++) {
        try (WbpClient c = WbpClient.connect(n.backendPort)) {
          tokens[i] = c.request(WbpClient.identity("req", "/node", token), "AT", "nodeuser", "presence-.*").get(1);
        }
      }
      List<String> cmd = major >= 22 ? List.of("node", script.toString()) : List.of("node", "--experimental-websocket", "--no-warnings", script.toString());
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("WS_PORT", String.valueOf(n.wsPort));
      pb.environment().put("VHOST", "/node");
      pb.environment().put("TOKENS", String.join(",", tokens));
      Process p = pb.start();
      String out;
      try {
        out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor(30, TimeUnit.SECONDS);
      } finally {
        p.destroyForcibly();
      }
      assertEquals(String.join("\n",
          "esm function true",
          "cjs function 1.0.0",
          "authenticated true",
          "subscribed subscribed nodeuser",
          "echo node",
          ":disconnected disconnected",
          "reconnected connected tokens 2 members nodeuser",
          "echo node again",
          "closed closed"), out);
      assertEquals(0, p.exitValue());
    } finally {
      Files.deleteIfExists(script);
    }
  }

  private static int nodeMajor() {
    try {
      Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
      String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(10, TimeUnit.SECONDS);
      return Integer.parseInt(v.replaceAll("^v(\\d+).*", "$1"));
    } catch (IOException | RuntimeException | InterruptedException e) {
      return 0;
    }
  }
}
