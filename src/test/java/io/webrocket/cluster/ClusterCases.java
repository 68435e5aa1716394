package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Three nodes clustered over Hazelcast on loopback behave as one broker: whichever node a browser,
 * backend, worker or operator talks to, they see the same vhosts, channels, tokens, presence
 * and workers (issue "Cluster", section 2). Node loss is tested with separate JVMs in
 * {@link NodeFailureTest}.
 *
 * <p>Run by {@link InProcessClusterTest}, on the cluster it shares.
 */
abstract class ClusterCases extends SharedClusterCases {

  private WsClient ws(int node, String vhost) {
    return track(n(node).ws(vhost));
  }

  /** A vhost created through node {@code via}'s admin API; returns {path, token}. */
  private static String[] vhost(int via) {
    String path = "/c" + SEQ.incrementAndGet();
    return new String[] {path, n(via).createVhost(path)};
  }

  private static List<String> wbp(int node, String[] v, String... frames) {
    try (WbpClient c = n(node).wbp()) {
      return c.request(WbpClient.identity("req", v[0], v[1]), frames);
    }
  }

  private static final List<String> OK = List.of("OK", "");

  @Test
  void everyNodeListsTheSameMembersAndOneLeader() {
    Set<String> leaders = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      JsonObject c = n(i).admin().json("/cluster");
      assertTrue(c.getBoolean("enabled"));
      JsonArray members = c.getJsonArray("members");
      assertEquals(3, members.size(), c.encode());
      Set<String> names = new HashSet<>();
      members.forEach(m -> names.add(((JsonObject) m).getString("name")));
      assertEquals(Set.of("n0", "n1", "n2"), names);
      leaders.add(c.getString("leader"));
      assertEquals(200, n(i).admin().call("GET", "/ready").statusCode());
    }
    assertEquals(1, leaders.size(), "one leader, seen by all: " + leaders);
  }

  @Test
  void theAdminToolListsTheMembers() {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int status = io.webrocket.admin.AdminCli.run(new String[] {"-admin-addr", "127.0.0.1:" + n(2).adminPort,
        "-cookie", TestCluster.COOKIE, "list_members"}, new java.io.PrintStream(out, true), System.err);
    assertEquals(0, status);
    List<String> lines = out.toString().lines().toList();
    assertEquals(3, lines.size(), out.toString());
    assertEquals(1, lines.stream().filter(l -> l.endsWith("\tleader")).count(), out.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("n0\t127.0.0.1:")), out.toString());
  }

  @Test
  void aVhostCreatedOnOneNodeServesBrowsersOnEveryNode() {
    String[] v = vhost(1);
    for (int i = 0; i < 3; i++) {
      ws(i, v[0]);
      assertEquals(v[1], n(i).admin().token(v[0]));
    }
  }

  @Test
  void aBrowserBroadcastReachesSubscribersOnEveryNodeOnce() {
    String[] v = vhost(0);
    assertEquals(OK, wbp(2, v, "OC", "news"));
    List<WsClient> subs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WsClient s = ws(i, v[0]);
      s.subscribe("news");
      subs.add(s);
    }
    WsClient sender = subs.get(0);
    sender.send("broadcast", new JsonObject().put("channel", "news").put("event", "hello").put("data", new JsonObject().put("n", 1)));
    for (WsClient s : subs) {
      JsonObject m = s.expect("hello");
      assertEquals(1, m.getInteger("n"));
      assertEquals(sender.sid, m.getString("sid"));
    }
    for (WsClient s : subs) {
      s.expectSilence(200); // once, not once per node
    }
  }

  @Test
  void aBackendBroadcastReachesSubscribersOnEveryNodeOnce() {
    String[] v = vhost(2);
    assertEquals(OK, wbp(0, v, "OC", "prices"));
    List<WsClient> subs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WsClient s = ws(i, v[0]);
      s.subscribe("prices");
      subs.add(s);
    }
    assertEquals(OK, wbp(1, v, "BC", "prices", "tick", new JsonObject().put("p", 7).encode()));
    for (WsClient s : subs) {
      assertEquals(7, s.expect("tick").getInteger("p"));
      s.expectSilence(200);
    }
  }

  /**
   * A persistent connection's pipelined broadcasts leave as one bus message per run of one
   * channel (backend/BroadcastBatch): subscribers on the other nodes still get every one, in the
   * order sent across two channels, the burst before a CC, and nothing of the closed channel after.
   */
  @Test
  void aPipelinedBurstOnTwoChannelsReachesTheOtherNodesInOrderAndACloseInBetweenCutsIt() {
    String[] v = vhost(0);
    assertEquals(OK, wbp(0, v, "OC", "a"));
    assertEquals(OK, wbp(0, v, "OC", "b"));
    WsClient both = ws(1, v[0]);
    both.subscribe("a");
    both.subscribe("b");
    WsClient onlyA = ws(2, v[0]);
    onlyA.subscribe("a");
    int burst = 600;
    int after = 100;
    StringBuilder pipelined = new StringBuilder();
    List<String> sentToBoth = new ArrayList<>();
    for (int i = 0; i < burst; i++) {
      String ch = (i / 7) % 3 == 2 ? "b" : "a"; // runs of 7: a, a, b, a, a, b...
      pipelined.append(WbpClient.message(null, "BC", ch, "e", new JsonObject().put("n", i).encode()));
      sentToBoth.add(ch + i);
    }
    pipelined.append(WbpClient.message(null, "CC", "b"));
    for (int i = burst; i < burst + after; i++) {
      String ch = i % 2 == 0 ? "a" : "b"; // b's are refused: closed before them
      pipelined.append(WbpClient.message(null, "BC", ch, "e", new JsonObject().put("n", i).encode()));
      if (ch.equals("a")) {
        sentToBoth.add(ch + i);
      }
    }
    try (WbpClient backend = n(0).wbp()) {
      assertEquals(OK, backend.request(WbpClient.identity("req", v[0], v[1]), "KA"));
      // From another thread: the broker stops reading while too many replies are unread.
      java.util.concurrent.CompletableFuture<Void> sent =
          java.util.concurrent.CompletableFuture.runAsync(() -> backend.write(pipelined.toString()));
      for (int i = 0; i < burst + 1; i++) {
        assertEquals(OK, backend.read(), "reply " + i);
      }
      for (int i = burst; i < burst + after; i++) {
        assertEquals(i % 2 == 0 ? OK : List.of("ER", "454"), backend.read(), "reply to BC " + i);
      }
      sent.join();
    }
    for (String expected : sentToBoth) {
      JsonObject got = both.expect("e");
      assertEquals(expected, got.getString("channel") + got.getInteger("n"));
    }
    for (String expected : sentToBoth) {
      if (expected.startsWith("a")) {
        assertEquals(expected, "a" + onlyA.expect("e").getInteger("n"));
      }
    }
    both.expectSilence(200);
    onlyA.expectSilence(200);
  }

  @Test
  void aChannelOpenedOrClosedOnOneNodeIsOpenOrGoneEverywhereBeforeTheOk() {
    String[] v = vhost(0);
    for (int via = 0; via < 3; via++) {
      String ch = "ch" + via;
      assertEquals(OK, wbp(via, v, "OC", ch));
      for (int i = 0; i < 3; i++) {
        WsClient c = ws(i, v[0]);
        c.subscribe(ch);
      }
      assertEquals(OK, wbp((via + 1) % 3, v, "CC", ch));
      for (int i = 0; i < 3; i++) {
        WsClient c = ws(i, v[0]);
        c.send("subscribe", new JsonObject().put("channel", ch));
        c.expectError(454);
      }
    }
  }

  @Test
  void aSingleAccessTokenFromOneNodeAuthenticatesOnAnyOtherOnce() {
    String[] v = vhost(0);
    for (int issuer = 0; issuer < 3; issuer++) {
      List<String> at = wbp(issuer, v, "AT", "joe", ".*");
      assertEquals("AT", at.get(0), at.toString());
      String token = at.get(1);
      int user = (issuer + 1) % 3;
      ws(user, v[0]).auth(token);
      for (int i = 0; i < 3; i++) {
        WsClient again = ws(i, v[0]);
        again.send("auth", new JsonObject().put("token", token));
        again.expectError(402);
      }
    }
  }

  @Test
  void presenceCoversMembersOnAllNodes() {
    String[] v = vhost(1);
    assertEquals(OK, wbp(1, v, "OC", "presence-lobby"));
    List<WsClient> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WsClient c = ws(i, v[0]);
      c.auth(wbp(i, v, "AT", "user" + i, ".*").get(1));
      JsonObject subscribed = c.subscribe("presence-lobby");
      JsonArray listed = subscribed.getJsonArray("subscribers");
      assertEquals(i, listed.size(), "sees the members of the other nodes: " + subscribed);
      for (int j = 0; j < i; j++) {
        assertEquals("user" + j, listed.getJsonObject(j).getString("uid"));
      }
      assertEquals("user" + i, c.expect(":memberJoined").getString("uid"), "its own, after :subscribed");
      for (WsClient earlier : members) {
        assertEquals("user" + i, earlier.expect(":memberJoined").getString("uid"));
      }
      members.add(c);
    }
    assertEquals(3, subscriberCount(0, v, "presence-lobby"));
    members.get(2).close();
    for (int i = 0; i < 2; i++) {
      assertEquals("user2", members.get(i).expect(":memberLeft").getString("uid"));
    }
  }

  @Test
  void triggersAreBalancedOverTheWorkersOfAllNodes() {
    String[] v = vhost(0);
    WsClient browser = ws(1, v[0]);
    browser.auth(wbp(1, v, "AT", "u", ".*").get(1));
    browser.send("trigger", new JsonObject().put("event", "job"));
    browser.expectError(503); // no node has a worker

    List<WbpClient> workers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WbpClient w = track(n(i).wbp());
      w.write(WbpClient.message(WbpClient.identity("dlr", v[0], v[1]), "RD"));
      assertEquals("HB", w.read().get(0));
      workers.add(w);
    }
    assertEquals(3, n(2).admin().json(v[0] + "/workers").getJsonArray("workers").size(),
        "the admin API lists the workers of every node");
    int triggers = 30;
    for (int k = 0; k < triggers; k++) {
      browser.send("trigger", new JsonObject().put("event", "job").put("data", new JsonObject().put("k", k)));
    }
    int total = 0;
    for (WbpClient w : workers) {
      int got = w.triggersUntilQuiet(300);
      assertTrue(got > 0, "every node's worker takes a share");
      total += got;
    }
    assertEquals(triggers, total, "each trigger reaches exactly one worker");
  }

  @Test
  void adminViewsAreClusterWideAndVhostDeletionReachesEveryNode() {
    String[] v = vhost(2);
    assertEquals(OK, wbp(0, v, "OC", "room"));
    List<WsClient> subs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WsClient c = ws(i, v[0]);
      c.subscribe("room");
      subs.add(c);
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(3, subscriberCount(i, v, "room"), "node " + i + " counts the subscribers of every node");
    }
    String renewed = n(1).admin().call("PUT", v[0] + "/token").body();
    assertNotEquals(v[1], n(0).admin().token(v[0]));
    assertEquals(n(1).admin().token(v[0]), n(2).admin().token(v[0]), renewed);
    assertEquals(202, n(1).admin().call("DELETE", v[0]).statusCode());
    for (WsClient c : subs) {
      c.awaitClose();
    }
  }

  /**
   * Issue 11, item 7 (no leader on the control path): every change is made on node 1 and
   * checked at once on node 2, with no waiting and no retry: the guarantee holds when the reply
   * comes. (NodeFailureTest makes the same changes right after killing the leader.)
   */
  @Test
  void channelsTokensAndVhostsChangedOnOneNodeHoldOnEveryNodeAtOnce() {
    String path = "/everywhere" + SEQ.incrementAndGet();
    String token = n(1).admin().createVhost(path);
    assertEquals(token, n(2).admin().token(path), "created on node 1, shown on node 2");
    String[] v = {path, token};
    // Open on node 1, subscribe on node 2; close on node 1, refused on node 2.
    assertEquals(OK, wbp(1, v, "OC", "news"));
    ws(2, path).subscribe("news");
    assertEquals(OK, wbp(1, v, "CC", "news"));
    // Node 2 knew the channel (its view learnt it above): the close took it back before OK.
    WsClient late = ws(2, path);
    late.send("subscribe", new JsonObject().put("channel", "news"));
    late.expectError(454);
    // AT on node 1, used on node 2 once; never again on any node.
    String single = wbp(1, v, "AT", "joe", ".*").get(1);
    ws(2, path).auth(single);
    WsClient again = ws(1, path);
    again.send("auth", new JsonObject().put("token", single));
    again.expectError(402);
    // Re-token through node 1's admin API: node 2 (whose view learnt the old token) refuses it at once.
    assertEquals(OK, wbp(2, v, "OC", "learn"));
    assertEquals(302, n(1).admin().call("PUT", path + "/token").statusCode());
    String fresh = n(2).admin().token(path);
    assertNotEquals(token, fresh);
    assertEquals(List.of("ER", "402"), wbp(2, v, "BC", "learn", "ev", "{}"));
    assertEquals(OK, wbp(2, new String[] {path, fresh}, "BC", "learn", "ev", "{}"));
    assertEquals(202, n(1).admin().call("DELETE", path).statusCode());
    assertEquals(404, n(2).admin().call("GET", path).statusCode(), "deleted on node 1, gone on node 2");
  }

  private static int subscriberCount(int node, String[] v, String channel) {
    return n(node).admin().json(v[0] + "/channels/" + channel)
        .getJsonObject("channel").getJsonObject("subscribers").getInteger("size");
  }
}
