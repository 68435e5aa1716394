package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.history.HistorySettings.Policy;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Channel history in a three-node cluster (issue 15): offsets from the Hazelcast ring buffer,
 * recovery on a different node than before, offset order across two publishing nodes.
 *
 * <p>Run by {@link InProcessClusterTest}, on the cluster it shares.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
abstract class ClusterHistoryCases {
  static TestCluster cluster;
  static String token;

  /** The cluster {@link InProcessClusterTest} shares (its configuration declares /h and its rules). */
  @BeforeEach
  void shared() {
    cluster = InProcessClusterTest.cluster();
    token = cluster.node(0).admin().token("/h");
  }

  @Test
  void subscriberCutForTwoSecondsRecoversOnAnotherNodeEveryMessageOnceInOrder() throws Exception {
    int count = 4_000;
    RawWs first = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(0).wsPort, "/h");
    JsonObject s = io.webrocket.history.HistoryFixturesAccess.subscribe(first, new JsonObject().put("channel", "chat"));
    String epoch = s.getString("epoch");
    long lastOffset = s.getLong("offset");
    List<Integer> seen = new ArrayList<>();
    try (var pub = io.webrocket.history.HistoryFixturesAccess.publisher(cluster.node(1).backendPort, token, "chat", count, 1_000, "a")) {
      long until = System.currentTimeMillis() + 1_000;
      lastOffset = io.webrocket.history.HistoryFixturesAccess.readInOrder(first, lastOffset, seen,
          () -> System.currentTimeMillis() < until);
      first.close(); // cut
      io.webrocket.test.Await.pause(2_000); // the subscriber stays away two seconds: what it missed must come back
      RawWs second = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(2).wsPort, "/h");
      JsonObject r = io.webrocket.history.HistoryFixturesAccess.subscribe(second, new JsonObject().put("channel", "chat")
          .put("since", new JsonObject().put("offset", lastOffset).put("epoch", epoch)));
      assertEquals(true, r.getBoolean("recovered"), "the ring buffer is the cluster's: node 2 has it");
      assertEquals(epoch, r.getString("epoch"));
      io.webrocket.history.HistoryFixturesAccess.readInOrder(second, lastOffset, seen, () -> seen.size() < count);
      pub.await(10_000);
      second.close();
    }
    for (int i = 0; i < count; i++) {
      assertEquals(i, seen.get(i), "every message once, in order");
    }
  }

  /** Rules set through WARI on one node are in force on every node when it answers. */
  @Test
  void aRuleSetThroughWariOnNodeOneAppliesToBroadcastsOnNodeTwo() {
    cluster.node(0).openChannel("/h", "alerts");
    try (RawWs ws = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(1).wsPort, "/h");
         WbpClient c = cluster.node(1).wbp()) {
      JsonObject before = io.webrocket.history.HistoryFixturesAccess.subscribe(ws, new JsonObject().put("channel", "alerts"));
      assertEquals(null, before.getValue("offset"), "no rule for alerts yet");
      JsonObject rules = new JsonObject()
          .put("chat*", new JsonObject().put("size", 5000).put("lifetimeMs", 60_000))
          .put("small", new JsonObject().put("size", 10).put("lifetimeMs", 60_000))
          .put("alerts", new JsonObject().put("size", 20).put("lifetimeMs", 60_000));
      var put = cluster.node(0).admin().send("PUT", "/h/history", rules.encode());
      assertEquals(200, put.statusCode(), put.body());
      c.request(WbpClient.identity("req", "/h", token), "BC", "alerts", "message", "{}");
      JsonObject e = new JsonObject(ws.readText()).getJsonObject("message");
      assertEquals(1L, e.getLong("offset"), "node 2's broadcast is kept under node 1's rule");
      JsonObject seen = cluster.node(2).admin().json("/h/history").getJsonObject("history");
      assertEquals("admin", seen.getString("source"));
      assertEquals(20, seen.getJsonObject("rules").getJsonObject("alerts").getInteger("size"));
    } finally {
      // The other tests use the file's rules.
      cluster.node(0).admin().call("DELETE", "/h/history");
    }
  }

  @Test
  void broadcastsFromTwoNodesArriveInOffsetOrder() throws Exception {
    cluster.node(0).openChannel("/h", "chat-two");
    try (RawWs ws = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(2).wsPort, "/h")) {
      io.webrocket.history.HistoryFixturesAccess.subscribe(ws, new JsonObject().put("channel", "chat-two"));
      int each = 1_000;
      try (var a = io.webrocket.history.HistoryFixturesAccess.publisher(cluster.node(0).backendPort, token, "chat-two", each, 2_000, "a");
           var b = io.webrocket.history.HistoryFixturesAccess.publisher(cluster.node(1).backendPort, token, "chat-two", each, 2_000, "b")) {
        long last = 0;
        int[] next = new int[2];
        for (int i = 0; i < 2 * each; i++) {
          JsonObject e = new JsonObject(ws.readText()).getJsonObject("message");
          if (last > 0) {
            assertEquals(last + 1, e.getLong("offset"), "offset order, whichever node published");
          }
          last = e.getLong("offset");
          int who = e.getString("from").equals("a") ? 0 : 1;
          assertEquals(next[who]++, e.getInteger("n"), "each sender's order is kept");
        }
        a.await(5_000);
        b.await(5_000);
      }
    }
  }

  @Test
  void theEpochLivesInTheRingsPartition() {
    var hz = Clustering.hazelcast(cluster.node(0).node.vertx());
    Policy p = new Policy(10, 60_000, 1 << 20);
    for (String key : new String[] {"/h:chat", "/h:other", "/x:y"}) {
      String ring = ClusterChannelHistory.ringName(key, p);
      String partitionKey = ring.substring(ring.indexOf('@') + 1);
      assertEquals(hz.getPartitionService().getPartition(partitionKey).getPartitionId(),
          hz.getPartitionService().getPartition(ClusterChannelHistory.epochKey(key, p)).getPartitionId());
      assertEquals(partitionKey, hz.getRingbuffer(ring).getPartitionKey());
    }
  }

  @Test
  void aClosedAndReopenedChannelHasANewEpoch() {
    cluster.node(0).openChannel("/h", "chat-reopened");
    String before;
    try (RawWs ws = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(1).wsPort, "/h");
         WbpClient c = cluster.node(2).wbp()) {
      before = io.webrocket.history.HistoryFixturesAccess.subscribe(ws, new JsonObject().put("channel", "chat-reopened")).getString("epoch");
      c.request(WbpClient.identity("req", "/h", token), "BC", "chat-reopened", "message", "{}");
      assertEquals(1L, new JsonObject(ws.readText()).getJsonObject("message").getLong("offset"));
    }
    assertEquals(202, cluster.node(0).admin().call("DELETE", "/h/channels/chat-reopened").statusCode());
    cluster.node(0).openChannel("/h", "chat-reopened");
    try (RawWs ws = io.webrocket.history.HistoryFixturesAccess.connect(cluster.node(2).wsPort, "/h")) {
      JsonObject r = io.webrocket.history.HistoryFixturesAccess.subscribe(ws, new JsonObject().put("channel", "chat-reopened")
          .put("since", new JsonObject().put("offset", 1).put("epoch", before)));
      assertEquals(false, r.getBoolean("recovered"));
      assertNotEquals(before, r.getString("epoch"));
      assertTrue(r.getLong("offset") == 0L);
    }
  }
}
