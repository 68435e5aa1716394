package io.webrocket.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.Node;
import io.webrocket.config.Settings;
import io.webrocket.test.Await;
import io.webrocket.test.AdminClient;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** History rules apply live when the configuration file is edited. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HistoryReloadTest {

  /** A node's file: ports of its own, reloads looked for every 100 ms, vhost /live with {@code channels}. */
  private static JsonObject config(Path dir, String... channels) {
    return new JsonObject()
        .put("host", "127.0.0.1")
        .put("storageDir", dir.resolve("data").toString())
        .put("node", new JsonObject().put("name", "reload"))
        .put("websocket", new JsonObject().put("port", TestNode.freeFixedPort()))
        .put("backend", new JsonObject().put("port", TestNode.freeFixedPort()))
        .put("admin", new JsonObject().put("port", TestNode.freeFixedPort()))
        .put("reload", new JsonObject().put("scanPeriodMs", 100))
        .put("vhosts", new JsonObject().put("/live", new JsonObject().put("channels", List.of(channels))));
  }

  /** Replaces {@code file} in one step, as an editor saving it would (the watcher never reads half a file). */
  private static void replace(Path file, JsonObject next) throws java.io.IOException {
    Path tmp = file.resolveSibling("next.json");
    Files.writeString(tmp, next.encodePrettily());
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void aHistoryRuleAddedToTheFileAppliesWithoutARestart() throws Exception {
    Path dir = Files.createTempDirectory("webrocket-history-reload");
    Path file = dir.resolve("webrocket.json");
    JsonObject conf = config(dir, "chat");
    Files.writeString(file, conf.encodePrettily());
    Node node = Node.start(Settings.resolve(conf.copy(), Map.of(), Map.of(), new JsonObject())).await();
    try {
      node.watch(file, new JsonObject());
      int wsPort = node.config().getJsonObject("websocket").getInteger("port");
      int bePort = node.config().getJsonObject("backend").getInteger("port");
      String token = new AdminClient(node.config().getJsonObject("admin").getInteger("port"), node.cookie()).token("/live");
      try (RawWs ws = HistoryFixtures.connect(wsPort, "/live")) {
        JsonObject s = HistoryFixtures.subscribe(ws, new JsonObject().put("channel", "chat"));
        assertFalse(s.containsKey("offset"), "no history yet");
        // A copy: the node's running configuration shares objects with the one it was started from.
        JsonObject next = conf.copy();
        next.getJsonObject("vhosts").getJsonObject("/live")
            .put("history", new JsonObject().put("chat", new JsonObject().put("size", 10)));
        replace(file, next);
        // The subscriber from before the rule gets offsets too, once the reload applied it.
        Await.until(10_000, "the rule applied: a broadcast carries an offset", () -> {
          try (WbpClient c = WbpClient.connect(bePort)) {
            c.request(WbpClient.identity("req", "/live", token), "BC", "chat", "m", "{}");
          }
          return new JsonObject(ws.readText()).getJsonObject("m").containsKey("offset");
        });
        try (RawWs again = HistoryFixtures.connect(wsPort, "/live")) {
          JsonObject r = HistoryFixtures.subscribe(again, new JsonObject().put("channel", "chat"));
          assertEquals(true, r.getLong("offset") >= 1, "a fresh subscribe gets the position: " + r);
        }
      }
    } finally {
      node.stop().await();
    }
  }

  /** Rules set through WARI win over the file's until removed; a reload of the file does not undo them. */
  @Test
  void aReloadDoesNotUndoRulesSetThroughWari() throws Exception {
    Path dir = Files.createTempDirectory("webrocket-history-reload");
    Path file = dir.resolve("webrocket.json");
    JsonObject conf = config(dir, "chat", "news");
    Files.writeString(file, conf.encodePrettily());
    Node node = Node.start(Settings.resolve(conf.copy(), Map.of(), Map.of(), new JsonObject())).await();
    try {
      node.watch(file, new JsonObject());
      int wsPort = node.config().getJsonObject("websocket").getInteger("port");
      int bePort = node.config().getJsonObject("backend").getInteger("port");
      AdminClient admin = new AdminClient(node.config().getJsonObject("admin").getInteger("port"), node.cookie());
      String token = admin.token("/live");
      assertEquals(200, admin.send("PUT", "/live/history",
          new JsonObject().put("news", new JsonObject().put("size", 10)).encode()).statusCode());
      JsonObject next = conf.copy();
      next.getJsonObject("vhosts").getJsonObject("/live")
          .put("history", new JsonObject().put("chat", new JsonObject().put("size", 10)));
      replace(file, next);
      Histories histories = Histories.existing(node.vertx());
      Await.until(10_000, "the file reloaded", () -> histories.settings().rulesJson("/live").containsKey("chat"));
      JsonObject h = admin.json("/live/history").getJsonObject("history");
      assertEquals("admin", h.getString("source"), "the reload kept the rules set through WARI: " + h);
      try (RawWs ws = HistoryFixtures.connect(wsPort, "/live")) {
        assertFalse(HistoryFixtures.subscribe(ws, new JsonObject().put("channel", "chat")).containsKey("offset"),
            "the file's rule for chat is not in force while WARI's rules are");
        assertTrue(HistoryFixtures.subscribe(ws, new JsonObject().put("channel", "news")).containsKey("offset"));
      }
      assertEquals(202, admin.call("DELETE", "/live/history").statusCode());
      try (RawWs ws = HistoryFixtures.connect(wsPort, "/live")) {
        assertTrue(HistoryFixtures.subscribe(ws, new JsonObject().put("channel", "chat")).containsKey("offset"),
            "removed: the file's rules apply");
        assertFalse(HistoryFixtures.subscribe(ws, new JsonObject().put("channel", "news")).containsKey("offset"));
      }
    } finally {
      node.stop().await();
    }
  }
}
