package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A rolling restart's hard step: the leader is stopped gracefully (SIGTERM does the same). Its
 * registries stop, it tells the others, and the next oldest member takes over from the replica
 * while the other nodes' browsers stay connected and subscribed.
 */
class LeaderHandoverTest {
  @Test
  void stoppingTheLeaderHandsTheRegistriesToTheNextOldestWithNothingLost() {
    try (TestCluster cluster = TestCluster.start(3, new JsonObject())) {
      String token = cluster.node(0).createVhost("/roll");
      WbpClient backend = WbpClient.connect(cluster.node(1).backendPort);
      String req = WbpClient.identity("req", "/roll", token);
      assertEquals(List.of("OK", ""), backend.request(req, "OC", "presence-team"));
      backend.close();
      WsClient[] members = new WsClient[3];
      for (int i = 0; i < 3; i++) {
        members[i] = cluster.node(i).ws("/roll");
        try (WbpClient c = WbpClient.connect(cluster.node(i).backendPort)) {
          members[i].auth(c.request(req, "AT", "m" + i, ".*").get(1));
        }
        members[i].subscribe("presence-team");
      }
      String unused;
      try (WbpClient c = WbpClient.connect(cluster.node(2).backendPort)) {
        unused = c.request(req, "AT", "later", ".*").get(1);
      }

      cluster.node(0).close(); // the leader
      // The member on the stopped node leaves like any closed connection.
      for (int i = 1; i < 3; i++) {
        JsonObject m;
        do {
          m = members[i].next();
        } while (!m.containsKey(":memberLeft"));
        assertEquals("m0", m.getJsonObject(":memberLeft").getString("uid"));
      }
      JsonObject c = Await.until(10_000, "a new leader", () -> cluster.node(1).admin().json("/cluster"),
          s -> s.getJsonArray("members").size() == 2 && s.getString("leader") != null);
      assertEquals(c.getString("node"), c.getString("leader"), "the next oldest (node 1) leads");

      assertEquals(token, cluster.node(2).admin().token("/roll"));
      try (WsClient late = cluster.node(2).ws("/roll")) {
        late.auth(unused);
        JsonArray listed = late.subscribe("presence-team").getJsonArray("subscribers");
        assertEquals(List.of("m1", "m2"), listed.stream().map(o -> ((JsonObject) o).getString("uid")).toList(),
            "the presence list survived, in joining order");
      }
      members[1].close();
      members[2].close();
    }
  }
}
