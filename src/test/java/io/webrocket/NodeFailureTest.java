package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Node loss in a cluster of three broker JVMs on loopback, one set for the whole class: a
 * {@code kill -9} of a follower, then of the oldest member (the leader), each holding a presence
 * member and a worker; each killed node rejoins without manual steps.
 *
 * <p>After a kill the survivors announce the dead node's presence members with {@code
 * :memberLeft} within the documented bound, its workers get no more triggers, and nothing
 * acknowledged is lost (vhosts, channels, unused single access tokens). After the leader's kill
 * every control request (open, close, single access token, re-token, create) is answered at
 * once by the node that received it (issue 11, item 7): nothing waits for a new leader.
 *
 * <p>The same changes with every node up, and a full restart from the store files, need no
 * process killed: {@code cluster/ClusterCases} and {@code cluster/FullRestartCases} make them
 * on nodes in one JVM. The tests run in order, and each starts any node a failed predecessor
 * left down, so one failure does not hide the next test's result.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class NodeFailureTest {
  /** The documented bound (docs/clustering.md) for announcing a dead node's members. */
  private static final long FAILOVER_BOUND_MS = 10_000;
  /** Far below the old takeover's 10 s of retries, far above a loaded machine's request. */
  private static final long ANSWERED_WITHIN_MS = 5_000;

  private static ClusterJvms nodes;
  @RegisterExtension
  static final TestWatcher LOGS = new TestWatcher() {
    @Override
    public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
      if (nodes != null) {
        System.out.println(nodes.logTails(80));
      }
    }
  };
  private final List<AutoCloseable> clients = new ArrayList<>();
  private long slowest;

  @BeforeAll
  static void startNodes() {
    // The test's workers never answer the node's heartbeats: with the default expiry (3 s after
    // the last one heard) a worker would be dropped before the triggers on a slow machine. The
    // expiry has tests of its own (WorkerTest).
    nodes = new ClusterJvms(3, Map.of("WEBROCKET_BACKEND_WORKEREXPIRYMS", "600000"));
    nodes.startAll();
  }

  @AfterAll
  static void stopNodes() {
    if (nodes != null) {
      nodes.close();
    }
  }

  /** Any node a failed test left down is started again, and the cluster settles. */
  @BeforeEach
  void allThreeRun() {
    List<Integer> down = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      if (!nodes.isRunning(i)) {
        down.add(i);
      }
    }
    if (!down.isEmpty()) {
      nodes.startTogether(down.stream().mapToInt(Integer::intValue).toArray());
    }
    int up = down.contains(0) ? 1 : 0;
    nodes.awaitSettled(up, 3);
  }

  @AfterEach
  void closeClients() {
    for (AutoCloseable c : clients) {
      try {
        c.close();
      } catch (Exception | AssertionError ignored) {
        // the node under it may be dead
      }
    }
    clients.clear();
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
    long t0 = System.currentTimeMillis();
    try (WbpClient c = WbpClient.connect(nodes.backendPort(i))) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    } finally {
      slowest = Math.max(slowest, System.currentTimeMillis() - t0);
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

  /** Open on node 1, subscribe on node 2; close on node 1, refused on node 2; both at once. */
  private void openAndCloseAcrossNodes(String vhost, String token, String channel) {
    assertEquals(List.of("OK", ""), wbp(1, vhost, token, "OC", channel));
    WsClient c = ws(2, vhost);
    c.subscribe(channel);
    assertEquals(List.of("OK", ""), wbp(1, vhost, token, "CC", channel));
    // Node 2 knew the channel (its view learnt it above): the close took it back before OK.
    WsClient late = ws(2, vhost);
    late.send("subscribe", new JsonObject().put("channel", channel));
    late.expectError(454);
  }

  /** AT on node 1, used on node 2 once; never again on any node. */
  private void accessTokenAcrossNodes(String vhost, String token) {
    String single = wbp(1, vhost, token, "AT", "joe", ".*").get(1);
    ws(2, vhost).auth(single);
    WsClient again = ws(1, vhost);
    again.send("auth", new JsonObject().put("token", single));
    again.expectError(402);
  }

  /** Re-token through node 1's admin API: node 2 refuses the old token when the API has answered. */
  private String retokenAcrossNodes(String vhost, String token) {
    // Node 2's view learns the token first, so that the test sees it being taken back.
    assertEquals(List.of("OK", ""), wbp(2, vhost, token, "OC", "learn"));
    assertEquals(302, admin(1).call("PUT", vhost + "/token").statusCode());
    String fresh = admin(2).token(vhost);
    assertNotEquals(token, fresh);
    assertEquals(List.of("ER", "402"), wbp(2, vhost, token, "BC", "learn", "ev", "{}"));
    assertEquals(List.of("OK", ""), wbp(2, vhost, fresh, "BC", "learn", "ev", "{}"));
    return fresh;
  }

  /**
   * Kills {@code victim} while it holds a presence member and a worker; runs {@code meanwhile}
   * at once after the kill (while the survivors notice it), then checks the survivors.
   */
  private void killAndCheck(int victim, String vhost, String token, String unusedToken, Runnable meanwhile)
      throws Exception {
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
    // The announcements are awaited beside the requests below: each is timed from the kill.
    CompletableFuture<Long> announced = CompletableFuture.supplyAsync(() -> {
      for (WsClient m : List.of(ma, mb)) {
        JsonObject left = nextSkippingJoins(m);
        assertEquals("gone" + victim, left.getJsonObject(":memberLeft").getString("uid"), left.encode());
      }
      return System.currentTimeMillis() - killed;
    });
    meanwhile.run();
    long announcedMs = announced.get(2 * FAILOVER_BOUND_MS, TimeUnit.MILLISECONDS);
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
    assertEquals(triggers, liveWorker.triggersWithin(10_000, triggers));
    assertEquals(0, liveWorker.triggersWithin(300, 1), "each trigger once: no eleventh within 300 ms");
    assertEquals(0, deadWorker.triggersWithin(10, 1));
    user.close();
    ma.close();
    mb.close();
    gone.close();
  }

  /** The failover vhost with its two channels; made once, used by the two kill tests. */
  private static String failoverToken;

  private String failoverVhost() {
    if (failoverToken == null || admin(1).call("GET", "/failover").statusCode() != 200) {
      failoverToken = admin(1).createVhost("/failover");
      assertEquals(List.of("OK", ""), wbp(2, "/failover", failoverToken, "OC", "presence-room"));
      assertEquals(List.of("OK", ""), wbp(1, "/failover", failoverToken, "OC", "news"));
    }
    return failoverToken;
  }

  @Test
  @Order(1)
  void aKilledFollowerLosesNothingAndRejoinsWithoutHelp() throws Exception {
    assertEquals("n0", nodes.leaderName(1), "the oldest member leads");
    String vhost = "/failover";
    String token = failoverVhost();
    String unused = wbp(0, vhost, token, "AT", "late1", ".*").get(1);
    killAndCheck(2, vhost, token, unused, () -> { });

    // It comes back and catches up without help.
    nodes.start(2);
    nodes.awaitSettled(2, 3);
    WsClient back = ws(2, vhost);
    back.subscribe("news");
    assertEquals(token, admin(2).token(vhost));
  }

  @Test
  @Order(2)
  void killingTheLeaderLeavesNoGapOnTheControlPathLosesNothingAndItRejoins() throws Exception {
    String vhost = "/failover";
    String token = failoverVhost();
    assertEquals("n0", nodes.leaderName(1), "the oldest member leads");
    String nogap = admin(1).createVhost("/nogap");
    openAndCloseAcrossNodes("/nogap", nogap, "before");
    String unused = wbp(0, vhost, token, "AT", "late2", ".*").get(1);

    String[] fresh = new String[1];
    killAndCheck(0, vhost, token, unused, () -> {
      // At once, not after the cluster noticed: every request is answered by its own node.
      slowest = 0;
      long t0 = System.currentTimeMillis();
      openAndCloseAcrossNodes("/nogap", nogap, "after");
      accessTokenAcrossNodes("/nogap", nogap);
      fresh[0] = retokenAcrossNodes("/nogap", nogap);
      long t1 = System.currentTimeMillis();
      String created = admin(2).createVhost("/nogap-new");
      long createMs = System.currentTimeMillis() - t1;
      assertEquals(created, admin(1).token("/nogap-new"));
      assertTrue(slowest < ANSWERED_WITHIN_MS, "slowest WBP request " + slowest + " ms");
      assertTrue(createMs < ANSWERED_WITHIN_MS, "vhost created in " + createMs + " ms");
      System.out.println("after the kill: every request answered, slowest WBP " + slowest + " ms, create " + createMs
          + " ms, whole sequence " + (System.currentTimeMillis() - t0) + " ms");
    });

    // Nothing acknowledged is lost, and the next oldest member does the one-member jobs.
    nodes.awaitSettled(1, 2);
    assertEquals("n1", nodes.leaderName(2), "the next oldest member leads");
    assertEquals(fresh[0], admin(1).token("/nogap"));

    // The old leader rejoins as a follower and serves like the others.
    nodes.start(0);
    nodes.awaitSettled(0, 3);
    assertEquals("n1", nodes.leaderName(0), "a node that joins never takes the lead");
    WsClient rejoined = ws(0, vhost);
    rejoined.subscribe("news");
    WsClient other = ws(1, vhost);
    other.subscribe("news");
    assertEquals(List.of("OK", ""), wbp(0, vhost, token, "BC", "news", "hello", "{}"));
    assertTrue(nextSkippingJoins(rejoined).containsKey("hello"));
    assertTrue(nextSkippingJoins(other).containsKey("hello"));
  }
}
