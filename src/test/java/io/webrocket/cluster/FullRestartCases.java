package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.webrocket.test.AdminClient;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A full restart of a cluster on the embedded SQLite store (docs/clustering.md, "Durable state
 * and full restarts"): each node keeps a file of its own; the node that receives a change writes
 * it before the reply, the others copy vhost changes before the reply and channel changes
 * shortly after; once every node has stopped, the first to start again (it leads) loads its own
 * file into the maps. The changes are made through nodes 1 and 2; node 0, started first, loads
 * them.
 *
 * <p>Run by {@link InProcessClusterTest}, last: it stops every node.
 */
abstract class FullRestartCases {
  private static TestCluster cluster;

  private static AdminClient admin(int i) {
    return cluster.node(i).admin();
  }

  private static List<String> wbp(int node, String vhost, String token, String... frames) {
    try (WbpClient c = cluster.node(node).wbp()) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  /** The channels of {@code vhost} in node {@code i}'s own store file, read beside the running node. */
  private static List<String> channelsInFile(int i, String vhost) {
    String url = "jdbc:sqlite:" + cluster.node(i).dataDir.resolve("webrocket.db");
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
        java.sql.PreparedStatement q = c.prepareStatement("SELECT name FROM channels WHERE vhost = ? ORDER BY name")) {
      q.setString(1, vhost);
      List<String> names = new java.util.ArrayList<>();
      try (java.sql.ResultSet r = q.executeQuery()) {
        while (r.next()) {
          names.add(r.getString(1));
        }
      }
      return names;
    } catch (java.sql.SQLException busy) {
      return List.of("not readable now: " + busy.getMessage()); // the node is writing: asked again
    }
  }

  @Test
  void aFullRestartReloadsVhostsTokensAndChannelsFromTheStore() {
    cluster = InProcessClusterTest.cluster();
    // A node an earlier case stopped runs again, as a follower: it copies the changes below.
    for (int i = 0; i < 3; i++) {
      if (cluster.isStopped(i)) {
        cluster.restart(i);
      }
    }
    TestCluster.awaitCluster(admin(0), 3, true, System.currentTimeMillis() + 30_000);
    String token = admin(2).createVhost("/durable");
    assertEquals(List.of("OK", ""), wbp(2, "/durable", token, "OC", "kept"));
    assertEquals(List.of("OK", ""), wbp(1, "/durable", token, "OC", "closed"));
    assertEquals(List.of("OK", ""), wbp(2, "/durable", token, "CC", "closed"));
    assertEquals(302, admin(2).call("PUT", "/durable/token").statusCode());
    String fresh = admin(1).token("/durable");
    // The open of "closed" (through node 1) and its close (through node 2) reach node 0 over two
    // connections, in either order: here the open's copy comes again, last, as it can. Node 0's
    // file must still end as the grid is (a CI run's restart brought "closed" back).
    cluster.node(0).node.vertx().eventBus().publish(io.webrocket.bus.Addresses.storeMirror(),
        new io.vertx.core.json.JsonObject().put("op", "putChannel").put("vhost", "/durable").put("channel", "closed")
            .put("origin", "a node whose copy came late"));
    // The other nodes' files copy channel changes shortly after: each file must end as the grid is.
    for (int i = 0; i < 3; i++) {
      int node = i;
      io.webrocket.test.Await.until(30_000, "node " + i + "'s file holds /durable's channels as the grid does",
          () -> channelsInFile(node, "/durable").equals(List.of("kept")));
    }

    for (int i = 2; i >= 0; i--) {
      cluster.stop(i);
    }
    for (int i = 0; i < 3; i++) {
      cluster.restart(i);
    }
    TestCluster.awaitCluster(admin(2), 3, true, System.currentTimeMillis() + 30_000);
    assertEquals(fresh, admin(2).token("/durable"));
    assertEquals(List.of("OK", ""), wbp(1, "/durable", fresh, "BC", "kept", "ev", "{}"));
    assertEquals(List.of("ER", "454"), wbp(1, "/durable", fresh, "BC", "closed", "ev", "{}"));
    assertEquals(List.of("ER", "402"), wbp(2, "/durable", token, "BC", "kept", "ev", "{}"));
  }
}
