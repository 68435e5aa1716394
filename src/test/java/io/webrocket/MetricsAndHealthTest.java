package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** /metrics after known traffic, /health, and /ready flipping when a dependency goes away. */
class MetricsAndHealthTest {

  /** The value of one sample line, e.g. {@code webrocket_broadcasts_total{source="browser",vhost="/m"}}. */
  private static double sample(String scrape, String name, String labels) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(scrape);
    while (m.find()) {
      boolean all = true;
      for (String l : labels.split(",")) {
        all &= m.group(1).contains(l);
      }
      if (all) {
        return Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError("no sample " + name + "{" + labels + "} in:\n" + scrape.lines()
        .filter(x -> x.startsWith("webrocket_")).reduce("", (a, b) -> a + b + "\n"));
  }

  @Test
  void metricsCountKnownTrafficWithoutCookie() {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/m");
      n.openChannel("/m", "chat");
      try (WsClient a = n.ws("/m"); WsClient b = n.ws("/m"); WbpClient backend = n.wbp()) {
        a.subscribe("chat");
        b.subscribe("chat");
        a.send("broadcast", new JsonObject().put("channel", "chat").put("event", "e").put("data", new JsonObject()));
        a.expect("e");
        b.expect("e");
        assertEquals("OK", backend.request(WbpClient.identity("req", "/m", token), "BC", "chat", "e", "{}").get(0));
        a.expect("e");
        b.expect("e");
        a.send("auth", new JsonObject().put("token", "nope"));
        a.expectError(402);
        try (WbpClient bad = n.wbp()) {
          bad.request(WbpClient.identity("req", "/m", "0".repeat(40)), "OC", "x");
        }

        HttpResponse<String> r = n.admin().call("GET", "/metrics", null);
        assertEquals(200, r.statusCode());
        String s = r.body();
        assertEquals(2, sample(s, "webrocket_websocket_connections", "vhost=\"/m\""));
        assertEquals(2, sample(s, "webrocket_subscriptions", "vhost=\"/m\""));
        assertEquals(1, sample(s, "webrocket_channels", "vhost=\"/m\""));
        assertEquals(1, sample(s, "webrocket_broadcasts_total", "vhost=\"/m\",source=\"browser\""));
        assertEquals(1, sample(s, "webrocket_broadcasts_total", "vhost=\"/m\",source=\"backend\""));
        assertEquals(4, sample(s, "webrocket_frames_delivered_total", "vhost=\"/m\""));
        assertEquals(1, sample(s, "webrocket_auth_failures_total", "vhost=\"/m\",endpoint=\"websocket\""));
        assertEquals(1, sample(s, "webrocket_auth_failures_total", "vhost=\"/m\",endpoint=\"backend\""));
        assertEquals(1, sample(s, "webrocket_backend_requests_total", "command=\"BC\",code=\"204\""));
        assertEquals(1, sample(s, "webrocket_backend_requests_total", "command=\"OC\",code=\"402\""));
        assertTrue(sample(s, "webrocket_store_operation_seconds_count", "operation=\"putChannel\"") >= 1);
        assertTrue(s.contains("vertx_http_server_active_connections"), "Vert.x's own metrics are there too");
      }
    }
  }

  @Test
  void grafanaDashboardQueriesMetricsTheNodeExports() throws Exception {
    String dashboard = java.nio.file.Files.readString(java.nio.file.Path.of("conf/grafana-dashboard.json"));
    java.util.Set<String> used = new java.util.TreeSet<>();
    Matcher m = Pattern.compile("webrocket_[a-z_]+").matcher(dashboard);
    while (m.find()) {
      used.add(m.group().replaceAll("_(bucket|count|sum)$", ""));
    }
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/g");
      n.openChannel("/g", "chat");
      try (WsClient a = n.ws("/g"); WbpClient backend = n.wbp(); WbpClient worker = n.wbp()) {
        a.subscribe("chat");
        a.send("broadcast", new JsonObject().put("channel", "chat").put("event", "e"));
        a.expect("e");
        String at = backend.request(WbpClient.identity("req", "/g", token), "AT", "u", ".*").get(1);
        a.auth(at);
        a.send("trigger", new JsonObject().put("event", "job"));
        a.expectError(503);
        worker.write(WbpClient.message(WbpClient.identity("dlr", "/g", token), "RD"));
        assertEquals("HB", worker.read().get(0));
        a.send("trigger", new JsonObject().put("event", "job"));
        String tr;
        do {
          tr = worker.read().get(0);
        } while (tr.equals("HB"));
        assertEquals("TR", tr);
        a.send("auth", new JsonObject().put("token", "bad"));
        a.expectError(402);
        String scrape = n.admin().call("GET", "/metrics", null).body();
        for (String name : used) {
          if (name.equals("webrocket_frames_dropped_total")) {
            continue; // needs a slow consumer: see the hardening tests
          }
          assertTrue(scrape.contains("\n" + name), "the dashboard queries " + name + ", which /metrics does not export");
        }
      }
    }
  }

  @Test
  void metricsCanRequireTheCookie() {
    try (TestNode n = TestNode.start(new JsonObject().put("admin", new JsonObject().put("metricsNeedCookie", true)))) {
      assertEquals(403, n.admin().call("GET", "/metrics", null).statusCode());
      assertEquals(200, n.admin().call("GET", "/metrics").statusCode());
    }
  }

  @Test
  void healthAndReadyAnswerWithoutCookieAndReadyFlipsWhenTheStoreGoesAway() {
    try (TestNode n = TestNode.start()) {
      HttpResponse<String> health = n.admin().call("GET", "/health", null);
      assertEquals(200, health.statusCode());
      assertEquals("UP", new JsonObject(health.body()).getString("status"));
      HttpResponse<String> ready = n.admin().call("GET", "/ready", null);
      assertEquals(200, ready.statusCode());
      assertEquals("UP", new JsonObject(ready.body()).getJsonObject("checks").getString("store"));

      String store = n.node.vertx().deploymentIDs().stream()
          .filter(id -> ((io.vertx.core.internal.VertxInternal) n.node.vertx()).deploymentManager().deployment(id)
              .deployment().identifier().contains("StoreVerticle"))
          .findFirst().orElseThrow();
      n.node.vertx().undeploy(store).await();

      HttpResponse<String> down = n.admin().call("GET", "/ready", null);
      assertEquals(503, down.statusCode());
      JsonObject body = new JsonObject(down.body());
      assertEquals("DOWN", body.getString("status"));
      assertEquals("DOWN", body.getJsonObject("checks").getString("store"));
      assertEquals(200, n.admin().call("GET", "/health", null).statusCode(), "alive, though not ready");
    }
  }

  @Test
  void reservedOperationsPathsCannotBecomeVhosts() {
    try (TestNode n = TestNode.start()) {
      for (String p : new String[] {"/metrics", "/health", "/ready", "/console"}) {
        assertEquals(400, n.admin().call("POST", p).statusCode(), p);
      }
    }
  }
}
