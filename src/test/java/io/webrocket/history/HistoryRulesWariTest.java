package io.webrocket.history;

import static io.webrocket.history.HistoryFixtures.connect;
import static io.webrocket.history.HistoryFixtures.subscribe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * History rules through WARI (issue 15): {@code GET/PUT/DELETE /VHOST/history} over real
 * sockets, checked like the file's rules, overriding the file's for the vhost, and kept by the
 * SQLite store across a restart.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HistoryRulesWariTest {

  private static JsonObject rules(String pattern, int size, long lifetimeMs) {
    return new JsonObject().put(pattern, new JsonObject().put("size", size).put("lifetimeMs", lifetimeMs));
  }

  /** The offset a broadcast on {@code channel} carries to a subscriber, or null (no history). */
  private static Long broadcastOffset(TestNode node, String token, String channel) {
    try (RawWs ws = connect(node.wsPort, "/h"); WbpClient c = node.wbp()) {
      subscribe(ws, new JsonObject().put("channel", channel));
      c.request(WbpClient.identity("req", "/h", token), "BC", channel, "message", "{}");
      return new JsonObject(ws.readText()).getJsonObject("message").getLong("offset");
    }
  }

  @Test
  void rulesSetThroughWariOverrideTheFilesAndSurviveARestart() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("webrocket-history-rules");
    try (TestNode node = TestNode.start(dir, HistoryFixtures.config())) {
      String token = node.admin().token("/h");
      node.openChannel("/h", "news");
      JsonObject before = node.admin().json("/h/history").getJsonObject("history");
      assertEquals("file", before.getString("source"));
      assertTrue(before.getJsonObject("rules").containsKey("chat*"));
      assertNull(broadcastOffset(node, token, "news"), "no rule for news yet");

      HttpResponse<String> put = node.admin().send("PUT", "/h/history", rules("news*", 50, 10_000).encode());
      assertEquals(200, put.statusCode(), put.body());
      JsonObject set = new JsonObject(put.body()).getJsonObject("history");
      assertEquals("admin", set.getString("source"));
      assertEquals(50, set.getJsonObject("rules").getJsonObject("news*").getInteger("size"));
      assertEquals(1L, broadcastOffset(node, token, "news"), "the rule is in force when WARI answers");
      // The admin rules replace the file's for the whole vhost: chat keeps no history now.
      assertNull(broadcastOffset(node, token, "chat"));
      assertEquals("admin", node.admin().json("/h/history").getJsonObject("history").getString("source"));
    }
    try (TestNode again = TestNode.start(dir, HistoryFixtures.config())) {
      String token = again.admin().token("/h");
      JsonObject after = again.admin().json("/h/history").getJsonObject("history");
      assertEquals("admin", after.getString("source"), "kept by the store across a restart");
      assertEquals(50, after.getJsonObject("rules").getJsonObject("news*").getInteger("size"));
      assertTrue(broadcastOffset(again, token, "news") >= 1L);

      assertEquals(202, again.admin().call("DELETE", "/h/history").statusCode());
      JsonObject back = again.admin().json("/h/history").getJsonObject("history");
      assertEquals("file", back.getString("source"), "removed: the file's rules again");
      assertNull(broadcastOffset(again, token, "news"));
      assertTrue(broadcastOffset(again, token, "chat") >= 1L);
    }
  }

  private static String cli(TestNode node, java.io.ByteArrayOutputStream err, String... args) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    String[] all = new String[args.length + 4];
    all[0] = "-admin-addr";
    all[1] = "127.0.0.1:" + node.adminPort;
    all[2] = "-cookie";
    all[3] = node.cookie();
    System.arraycopy(args, 0, all, 4, args.length);
    int status = io.webrocket.admin.AdminCli.run(all, new java.io.PrintStream(out, true), new java.io.PrintStream(err, true));
    return status + "\n" + out;
  }

  @Test
  void theAdminToolShowsSetsAndClearsTheRules() {
    try (TestNode node = TestNode.start(HistoryFixtures.config())) {
      java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
      assertEquals("0\nsource file\nchat*\tsize 5000, lifetime 60000 ms\nsmall\tsize 10, lifetime 60000 ms\n",
          cli(node, err, "show_history_rules", "/h"), err.toString());
      assertEquals("0\nsource admin\nnews*\tsize 7, lifetime 2000 ms\n",
          cli(node, err, "set_history_rules", "/h", rules("news*", 7, 2000).encode()), err.toString());
      assertEquals("0\nsource admin\nnews*\tsize 7, lifetime 2000 ms\n", cli(node, err, "show_history_rules", "/h"));
      assertTrue(cli(node, err, "set_history_rules", "/h", "{\"x\": {\"size\": -1}}").startsWith("1\n"));
      assertTrue(err.toString().contains("size"), err.toString());
      assertEquals("0\n", cli(node, err, "clear_history_rules", "/h"));
      assertTrue(cli(node, err, "show_history_rules", "/h").startsWith("0\nsource file\n"));
    }
  }

  @Test
  void badRulesAreRefusedWithTheProtocolsErrorAndChangeNothing() {
    try (TestNode node = TestNode.start(HistoryFixtures.config())) {
      for (String body : new String[] {
          "not json", "[1]", "{\"bad pattern!\": {\"size\": 1}}", "{\"a*\": {\"size\": 0}}",
          "{\"a*\": {\"size\": 10, \"lifetimeMs\": 1}}", "{\"a*\": {\"size\": 10, \"colour\": 1}}", "{\"a*\": 5}",
          "{\"a*\": {\"size\": 100000000}}"}) {
        HttpResponse<String> r = node.admin().send("PUT", "/h/history", body);
        assertEquals(400, r.statusCode(), body + " -> " + r.body());
        assertFalse(new JsonObject(r.body()).getString("error").isEmpty(), r.body());
      }
      assertEquals("file", node.admin().json("/h/history").getJsonObject("history").getString("source"));
      assertEquals(404, node.admin().send("PUT", "/none/history", rules("a", 1, 1000).encode()).statusCode());
      assertEquals(404, node.admin().call("GET", "/none/history").statusCode());
      assertEquals(403, node.admin().call("GET", "/h/history", "wrong").statusCode());
      assertEquals(413, node.admin().send("PUT", "/h/history", "{\"a\":\"" + "x".repeat(70_000) + "\"}").statusCode());
    }
  }

  /** The WARI rule bounds are settings (history.maxRulesBodyBytes, history.maxRulesPerVhost), each refusal counted. */
  @Test
  void theRuleBoundsAreSettingsAndEachRefusalIsCounted() {
    JsonObject config = HistoryFixtures.config()
        .put("history", new JsonObject().put("maxRulesBodyBytes", 2048).put("maxRulesPerVhost", 3));
    try (TestNode node = TestNode.start(config)) {
      JsonObject four = new JsonObject();
      for (int i = 0; i < 4; i++) {
        four.put("p" + i + "*", new JsonObject().put("size", 10));
      }
      HttpResponse<String> r = node.admin().send("PUT", "/h/history", four.encode());
      assertEquals(400, r.statusCode(), r.body());
      assertTrue(r.body().contains("at most 3 patterns"), r.body());
      assertEquals(1.0, io.webrocket.test.Scrape.sum(node, "webrocket_history_rules_refused_total"));
      four.remove("p3*");
      assertEquals(200, node.admin().send("PUT", "/h/history", four.encode()).statusCode(), "three are within the bound");
      assertEquals(413, node.admin().send("PUT", "/h/history", "{\"a\":\"" + "x".repeat(3_000) + "\"}").statusCode(),
          "a body over 2 KiB");
      assertEquals(2.0, io.webrocket.test.Scrape.sum(node, "webrocket_history_rules_refused_total"));
      String metrics = node.admin().call("GET", "/metrics", null).body();
      assertTrue(metrics.contains("webrocket_history_rules_refused_total{reason=\"bodyBytes\"} 1.0"), metrics);
      assertTrue(metrics.contains("webrocket_history_rules_refused_total{reason=\"rules\"} 1.0"), metrics);
      assertTrue(metrics.contains("webrocket_presence_held 0.0"), "the presence ordering buffers are counted too");
    }
  }
}
