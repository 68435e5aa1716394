package io.webrocket.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The web console's routes over plain HTTP: its data needs the cookie, its static page does not. */
class ConsoleApiTest {
  private static final String WRONG_COOKIE = "0".repeat(40);
  private static TestNode node;
  private static AdminClient admin;

  @BeforeAll
  static void start() {
    node = TestNode.start();
    admin = node.admin();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Test
  void consoleDataRoutesNeedTheCookie() {
    for (String route : List.of("/console/api/node", "/console/api/stats", "/console/api/missing")) {
      for (String cookie : new String[] {null, WRONG_COOKIE, ""}) {
        HttpResponse<String> r = admin.call("GET", route, cookie);
        assertEquals(403, r.statusCode(), route + " with cookie " + cookie);
        assertEquals("", r.body(), route);
      }
    }
  }

  @Test
  void nodeRouteNamesThisNodeAsTheOnlyMember() {
    HttpResponse<String> r = admin.call("GET", "/console/api/node");
    assertEquals(200, r.statusCode());
    assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
    assertEquals(node.cookie(), r.headers().firstValue("X-WebRocket-Cookie").orElse(""));
    assertEquals(new JsonObject().put("node", "test").put("members", new JsonArray().add("test")).put("leader", "test"), new JsonObject(r.body()));
  }

  @Test
  void unknownConsoleDataRouteIs404WithTheCookie() {
    HttpResponse<String> r = admin.call("GET", "/console/api/missing");
    assertEquals(404, r.statusCode());
    assertEquals("not found", new JsonObject(r.body()).getString("error"));
  }

  @Test
  void statsRouteCountsConnectionsSubscriptionsBroadcastsAndDeliveries() {
    JsonObject before = stats();
    for (String k : List.of("time", "connections", "subscriptions", "channels", "workers", "broadcasts", "delivered", "dropped")) {
      assertTrue(before.getValue(k) instanceof Number, k + " in " + before);
    }
    assertEquals("test", before.getString("node"));

    String token = node.createVhost("/stats");
    node.openChannel("/stats", "news");
    try (WsClient a = node.ws("/stats"); WsClient b = node.ws("/stats")) {
      a.subscribe("news");
      b.subscribe("news");
      JsonObject during = awaitStats(s -> s.getLong("connections") == before.getLong("connections") + 2
          && s.getLong("subscriptions") == before.getLong("subscriptions") + 2);
      assertEquals(before.getLong("channels") + 1, during.getLong("channels"));

      try (WbpClient backend = node.wbp()) {
        assertEquals(List.of("OK", ""),
            backend.request(WbpClient.identity("req", "/stats", token), "BC", "news", "hello", "{}"));
      }
      a.expect("hello");
      b.expect("hello");
      JsonObject after = awaitStats(s -> s.getLong("delivered") >= before.getLong("delivered") + 2);
      assertEquals(before.getLong("broadcasts") + 1, after.getLong("broadcasts"));
      assertEquals(before.getLong("dropped"), after.getLong("dropped"));
      assertTrue(after.getLong("time") >= before.getLong("time"));
    }
    awaitStats(s -> s.getLong("connections").equals(before.getLong("connections"))
        && s.getLong("subscriptions").equals(before.getLong("subscriptions")));
  }

  @Test
  void consolePageIsServedWithoutTheCookie() {
    HttpResponse<String> page = admin.call("GET", "/console/", null);
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertTrue(page.body().contains("<title>WebRocket console</title>"));
    assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("frame-ancestors 'none'"));

    HttpResponse<String> script = admin.call("GET", "/console/console.js", null);
    assertEquals(200, script.statusCode());
    assertTrue(script.body().contains("X-WebRocket-Cookie"));
    assertEquals(200, admin.call("GET", "/console/console.css", null).statusCode());
    assertEquals(404, admin.call("GET", "/console/missing.html", null).statusCode());

    HttpResponse<String> bare = admin.call("GET", "/console", null);
    assertEquals(301, bare.statusCode());
    assertEquals("/console/", bare.headers().firstValue("Location").orElse(""));
  }

  @Test
  void wariRoutesStillNeedTheCookieAndConsoleStaysReserved() {
    assertEquals(403, admin.call("GET", "/", null).statusCode());
    assertEquals(200, admin.call("GET", "/").statusCode());
    assertEquals(400, admin.call("POST", "/console").statusCode());
  }

  private static JsonObject stats() {
    return admin.json("/console/api/stats");
  }

  private static JsonObject awaitStats(Predicate<JsonObject> condition) {
    return Await.until(WsClient.TIMEOUT_MS, "stats matching", ConsoleApiTest::stats, condition);
  }
}
