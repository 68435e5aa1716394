package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Presence with no leader, over three real nodes (issue 11, item 3): members live in the
 * cluster's partitioned presence map, each node answers its own sockets and announces their
 * changes, and every node hands the announcements to its members in one order per channel.
 * A killed node's members are checked in separate JVMs by {@code NodeFailureTest}; a
 * gracefully stopped leader (a rolling restart's hard step) here, last.
 *
 * <p>Run by {@link InProcessClusterTest}, on the cluster it shares.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
abstract class PresenceClusterCases extends SharedClusterCases {
  private static final String ROOM = "presence-room";

  /** A vhost with {@link #ROOM} open, made through node {@code via}; returns {path, token}. */
  private static String[] vhost(int via) {
    String path = "/p" + SEQ.incrementAndGet();
    String token = cluster.node(via).createVhost(path);
    try (WbpClient c = cluster.node(via).wbp()) {
      assertEquals(List.of("OK", ""), c.request(WbpClient.identity("req", path, token), "OC", ROOM));
    }
    return new String[] {path, token};
  }

  /** An authenticated socket of {@code uid} on node {@code node}, not subscribed yet. */
  private WsClient user(int node, String[] v, String uid) {
    WsClient c = cluster.node(node).ws(v[0]);
    track(c);
    try (WbpClient b = cluster.node(node).wbp()) {
      c.auth(b.request(WbpClient.identity("req", v[0], v[1]), "AT", uid, ".*").get(1));
    }
    return c;
  }

  private static List<String> uids(JsonArray members) {
    List<String> out = new ArrayList<>();
    members.forEach(m -> out.add(((JsonObject) m).getString("uid")));
    return out;
  }

  /** The uid of the next message, which must be {@code event}. */
  private static String nextUid(WsClient c, String event) {
    return c.expect(event).getString("uid");
  }

  @Test
  @Order(1)
  void concurrentJoinsOnEveryNodeAreAnnouncedExactlyOnceInOneOrder() {
    String[] v = vhost(0);
    int perNode = 4;
    List<WsClient> members = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int k = 0; k < perNode; k++) {
      for (int node = 0; node < 3; node++) {
        names.add("u" + node + "-" + k);
        members.add(user(node, v, names.get(names.size() - 1)));
      }
    }
    // Every socket asks at once: the joins race on three nodes for one channel.
    members.forEach(c -> c.send("subscribe", new JsonObject().put("channel", ROOM)));
    List<List<String>> lists = new ArrayList<>();
    for (WsClient c : members) {
      lists.add(uids(c.expect(":subscribed").getJsonArray("subscribers")));
    }
    // A late joiner's list is the one joining order, complete.
    WsClient late = user(1, v, "late");
    List<String> order = uids(late.subscribe(ROOM).getJsonArray("subscribers"));
    assertEquals(new HashSet<>(names), new HashSet<>(order), "the list is complete: " + order);
    assertEquals(names.size(), order.size(), "nobody twice: " + order);
    List<String> everything = new ArrayList<>(order);
    everything.add("late");
    for (int i = 0; i < members.size(); i++) {
      // What a member saw: its list, then every announcement up to the late joiner's.
      List<String> seen = new ArrayList<>(lists.get(i));
      String uid;
      do {
        uid = nextUid(members.get(i), ":memberJoined");
        seen.add(uid);
      } while (!uid.equals("late"));
      assertEquals(everything, seen, names.get(i) + ": list " + lists.get(i) + " then announcements in the one order");
    }
    assertEquals("late", nextUid(late, ":memberJoined"));
    members.get(0).expectSilence(300);
    members.forEach(c -> c.expectSilence(0));
  }

  @Test
  @Order(2)
  void aJoinOnOneNodeRacingALeaveOnAnotherIsSeenConsistentlyEverywhere() {
    String[] v = vhost(1);
    WsClient watcher = user(0, v, "watcher");
    watcher.subscribe(ROOM);
    assertEquals("watcher", nextUid(watcher, ":memberJoined"));
    for (int round = 0; round < 8; round++) {
      WsClient leaver = user(1, v, "leaver" + round);
      leaver.subscribe(ROOM);
      assertEquals("leaver" + round, nextUid(leaver, ":memberJoined"));
      assertEquals("leaver" + round, nextUid(watcher, ":memberJoined"));
      WsClient joiner = user(2, v, "joiner" + round);
      // The leave on node 1 and the join on node 2 at once.
      leaver.send("unsubscribe", new JsonObject().put("channel", ROOM));
      joiner.send("subscribe", new JsonObject().put("channel", ROOM));
      leaver.expect(":unsubscribed");
      List<String> listed = uids(joiner.expect(":subscribed").getJsonArray("subscribers"));
      assertEquals("joiner" + round, nextUid(joiner, ":memberJoined"));
      boolean sawLeaver = listed.contains("leaver" + round);
      if (sawLeaver) {
        assertEquals("leaver" + round, nextUid(joiner, ":memberLeft"), "listed, so its leaving is announced");
      }
      // The watcher gets both, exactly once each, in the channel's order.
      Set<String> got = new HashSet<>();
      for (int k = 0; k < 2; k++) {
        JsonObject m = watcher.next();
        got.add(m.fieldNames().iterator().next() + " " + m.getJsonObject(m.fieldNames().iterator().next()).getString("uid"));
      }
      assertEquals(Set.of(":memberLeft leaver" + round, ":memberJoined joiner" + round), got);
      joiner.expectSilence(200);
      watcher.expectSilence(0);
      leaver.expectSilence(0);
      joiner.send("unsubscribe", new JsonObject().put("channel", ROOM));
      joiner.expect(":unsubscribed");
      assertEquals("joiner" + round, watcher.expect(":memberLeft").getString("uid"));
    }
  }

  @Test
  @Order(3)
  void hiddenMembersOnOtherNodesSeeTheOthersButAreNeitherListedNorAnnounced() {
    String[] v = vhost(2);
    WsClient a = user(0, v, "alice");
    a.subscribe(ROOM);
    a.expect(":memberJoined");
    WsClient h = user(1, v, "hidden");
    h.send("subscribe", new JsonObject().put("channel", ROOM).put("hidden", true));
    assertEquals(List.of("alice"), uids(h.expect(":subscribed").getJsonArray("subscribers")));
    WsClient b = user(2, v, "bob");
    assertEquals(List.of("alice"), uids(b.subscribe(ROOM).getJsonArray("subscribers")));
    for (WsClient c : List.of(b, a, h)) {
      assertEquals("bob", nextUid(c, ":memberJoined"));
    }
    h.close();
    b.close();
    assertEquals("bob", nextUid(a, ":memberLeft"), "the hidden member's leaving is not announced");
    a.expectSilence(300);
  }

  /**
   * Last: it stops the oldest member (the leader) gracefully, a rolling restart's hard step
   * (SIGTERM does the same): its members leave once, presence goes on with no leader settled,
   * the next oldest member takes the lead, and nothing acknowledged is lost (the vhost's token,
   * an unused single access token, the members that joined before, in joining order).
   */
  @Test
  @Order(4)
  void presenceWorksWithTheOldestMemberStoppedAndItsMembersLeaveOnce() {
    String[] v = vhost(0);
    WsClient onOldest = user(0, v, "old");
    onOldest.subscribe(ROOM);
    onOldest.expect(":memberJoined");
    WsClient a = user(1, v, "a");
    a.subscribe(ROOM);
    assertEquals("a", nextUid(a, ":memberJoined"));
    assertEquals("a", nextUid(onOldest, ":memberJoined"));
    WsClient b = user(2, v, "b");
    b.subscribe(ROOM);
    b.expect(":memberJoined");
    a.expect(":memberJoined");
    onOldest.expect(":memberJoined");
    // Node 2 learns the token now: the new user below needs no registry.
    WsClient c = user(2, v, "c");
    String unused;
    try (WbpClient w = cluster.node(2).wbp()) {
      unused = w.request(WbpClient.identity("req", v[0], v[1]), "AT", "later", ".*").get(1);
    }

    cluster.stop(0); // a clean stop: its sockets close, their members leave
    for (WsClient m : List.of(a, b)) {
      assertEquals("old", nextUid(m, ":memberLeft"));
    }
    // Joins and leaves go on at once, with no leader settled yet.
    assertEquals(List.of("a", "b"), uids(c.subscribe(ROOM).getJsonArray("subscribers")));
    for (WsClient m : List.of(c, a, b)) {
      assertEquals("c", nextUid(m, ":memberJoined"));
    }
    a.send("unsubscribe", new JsonObject().put("channel", ROOM));
    a.expect(":unsubscribed");
    for (WsClient m : List.of(b, c)) {
      assertEquals("a", nextUid(m, ":memberLeft"));
    }
    // The next oldest member (node 1, started second) takes over the one-member jobs.
    JsonObject status = Await.until(10_000, "a new leader", () -> cluster.node(1).admin().json("/cluster"),
        s -> s.getJsonArray("members").size() == 2 && s.getString("leader") != null);
    assertEquals(status.getString("node"), status.getString("leader"), "the next oldest (node 1) leads");
    b.expectSilence(2_500); // no second :memberLeft for "old" when the membership change lands
    c.expectSilence(0);
    assertTrue(onOldest.isClosed() || onOldest.awaitClose() != 0);

    // Nothing acknowledged is lost with the stopped leader.
    assertEquals(v[1], cluster.node(2).admin().token(v[0]));
    WsClient later = cluster.node(2).ws(v[0]);
    track(later);
    later.auth(unused);
    assertEquals(List.of("b", "c"), uids(later.subscribe(ROOM).getJsonArray("subscribers")),
        "the members that stayed, in joining order");
  }
}
