package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Node loss in a cluster of three broker JVMs on loopback (issue "Cluster", section 3): after a
 * {@code kill -9} the survivors announce the dead node's presence members with
 * {@code :memberLeft}, its workers get no more triggers, nothing acknowledged is lost (vhosts,
 * channels, unused single access tokens), and the node rejoins without manual steps. Both a
 * follower and the leader (which runs the registries) are killed.
 */
class NodeFailureTest {
  /** The documented bound (docs/clustering.md) for announcing a dead node's members. */
  private static final long FAILOVER_BOUND_MS = 10_000;

  private final ClusterJvms nodes = new ClusterJvms(3, Map.of());
  @RegisterExtension
  final TestWatcher logs = ClusterJvms.printLogsOnFailure(nodes);
  private final List<AutoCloseable> clients = new ArrayList<>();

  @AfterEach
  void stopAll() {
    for (AutoCloseable c : clients) {
      try {
        c.close();
      } catch (Exception | AssertionError ignored) {
        // the node under it may be dead
      }
    }
    nodes.close();
  }

  private AdminClient admin(int i) {
    return nodes.admin(i);
  }

  private WsClient ws(int i, String vhost) {
    WsClient c = WsClient.connect(nodes.wsPort(i), vhost);
    clients.add(c);
    return c;
  }

  private List<String> wbp(int i, String vhost, String token, String... frames) {
    try (WbpClient c = WbpClient.connect(nodes.backendPort(i))) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private WsClient member(int i, String vhost, String token, String uid) {
    WsClient c = ws(i, vhost);
    c.auth(wbp(i, vhost, token, "AT", uid, ".*").get(1));
    c.subscribe("presence-room");
    c.expect(":memberJoined"); // its own
    return c;
  }

  private WbpClient worker(int i, String vhost, String token) {
    WbpClient w = WbpClient.connect(nodes.backendPort(i));
    clients.add(w);
    w.write(WbpClient.message(WbpClient.identity("dlr", vhost, token), "RD"));
    assertEquals("HB", w.read().get(0));
    return w;
  }

  private static JsonObject nextSkippingJoins(WsClient c) {
    while (true) {
      JsonObject m = c.next();
      if (!m.containsKey(":memberJoined")) {
        return m;
      }
    }
  }

  /** Kills {@code victim} while it holds a presence member and a worker; checks the survivors. */
  private void killAndCheck(int victim, String vhost, String token, String unusedToken) throws Exception {
    int a = (victim + 1) % 3;
    int b = (victim + 2) % 3;
    WsClient gone = member(victim, vhost, token, "gone" + victim);
    WsClient ma = member(a, vhost, token, "alive-a" + victim);
    WsClient mb = member(b, vhost, token, "alive-b" + victim);
    WbpClient deadWorker = worker(victim, vhost, token);
    WbpClient liveWorker = worker(a, vhost, token);
    assertEquals(3, nodes.awaitSettled(a, 3).getJsonArray("members").size());

    long killed = System.currentTimeMillis();
    nodes.kill(victim);
    for (WsClient m : List.of(ma, mb)) {
      JsonObject left = nextSkippingJoins(m);
      assertEquals("gone" + victim, left.getJsonObject(":memberLeft").getString("uid"), left.encode());
    }
    long announcedMs = System.currentTimeMillis() - killed;
    System.out.println("node " + victim + " killed: :memberLeft on the survivors after " + announcedMs + " ms");
    assertTrue(announcedMs < FAILOVER_BOUND_MS, "memberLeft after " + announcedMs + " ms");

    // Nothing acknowledged is lost: the vhost, its token, its channel and an unused access token.
    assertEquals(token, admin(b).token(vhost));
    WsClient user = ws(b, vhost);
    user.auth(unusedToken);
    JsonObject listed = user.subscribe("presence-room");
    JsonArray uids = new JsonArray();
    listed.getJsonArray("subscribers").forEach(m -> uids.add(((JsonObject) m).getString("uid")));
    assertTrue(!uids.contains("gone" + victim) && uids.contains("alive-a" + victim) && uids.contains("alive-b" + victim),
        "presence after the loss: " + uids);

    // The dead node's worker gets nothing; every trigger reaches the live one.
    int triggers = 10;
    for (int k = 0; k < triggers; k++) {
      user.send("trigger", new JsonObject().put("event", "job").put("data", new JsonObject().put("k", k)));
    }
    assertEquals(triggers, liveWorker.triggersUntilQuiet(1_000));
    assertEquals(0, deadWorker.triggersUntilQuiet(10));
    user.close();
    ma.close();
    mb.close();
    gone.close();
  }

  @Test
  void aKilledFollowerThenAKilledLeaderLoseNothingAndRejoin() throws Exception {
    nodes.startAll();
    nodes.awaitSettled(0, 3);
    assertEquals("n0", nodes.leaderName(1), "the oldest member leads");
    String vhost = "/failover";
    String token = admin(1).createVhost(vhost);
    assertEquals(List.of("OK", ""), wbp(2, vhost, token, "OC", "presence-room"));
    assertEquals(List.of("OK", ""), wbp(1, vhost, token, "OC", "news"));

    // A follower dies.
    String unused1 = wbp(0, vhost, token, "AT", "late1", ".*").get(1);
    killAndCheck(2, vhost, token, unused1);

    // It comes back and catches up without help.
    nodes.start(2);
    nodes.awaitSettled(2, 3);
    WsClient back = ws(2, vhost);
    back.subscribe("news");
    assertEquals(token, admin(2).token(vhost));

    // The leader dies: the registries move to the next oldest node.
    String unused2 = wbp(0, vhost, token, "AT", "late2", ".*").get(1);
    killAndCheck(0, vhost, token, unused2);
    assertEquals("n1", nodes.leaderName(2), "the next oldest member leads");

    // The old leader rejoins as a follower and serves like the others.
    nodes.start(0);
    nodes.awaitSettled(0, 3);
    WsClient rejoined = ws(0, vhost);
    rejoined.subscribe("news");
    WsClient other = ws(1, vhost);
    other.subscribe("news");
    assertEquals(List.of("OK", ""), wbp(0, vhost, token, "BC", "news", "hello", "{}"));
    assertTrue(nextSkippingJoins(rejoined).containsKey("hello"));
    assertTrue(nextSkippingJoins(other).containsKey("hello"));
  }
}
