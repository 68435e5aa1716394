package io.webrocket.presence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The presence state of one channel, without sockets or a cluster: the rules every grid applies. */
@Tag("fast")
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PresenceMembersTest {

  private static Member m(String sid, String node) {
    return new Member(sid, "u-" + sid, "{\"n\":\"" + sid + "\"}", false, node);
  }

  private static Member hidden(String sid, String node) {
    return new Member(sid, "u-" + sid, "{}", true, node);
  }

  /** The sids of a join's list, from its entries' uids ("u-" + sid, see {@link #m}). */
  private static List<String> sids(String listed) {
    return new JsonArray(listed).stream().map(e -> ((JsonObject) e).getString("uid").substring(2)).toList();
  }

  @Test
  void aJoinListsTheVisibleMembersBeforeItInJoiningOrderAndTakesTheNextNumber() {
    PresenceMembers p = new PresenceMembers();
    Joined a = p.join(m("a", "n1"));
    assertEquals("[]", a.listed());
    assertEquals(1, a.seq());
    assertTrue(a.added());
    p.join(hidden("h", "n2"));
    Joined b = p.join(m("b", "n2"));
    assertEquals(List.of("a"), sids(b.listed()), "the hidden member is not listed");
    assertEquals(2, b.seq(), "a hidden join takes no number");
    Joined c = p.join(m("c", "n3"));
    assertEquals(List.of("a", "b"), sids(c.listed()));
    assertEquals(3, c.seq());
  }

  @Test
  void joiningAgainChangesNothingAndIsNotAnnounced() {
    PresenceMembers p = new PresenceMembers();
    p.join(m("a", "n1"));
    Member b = m("b", "n1");
    p.join(b);
    Joined again = p.join(b);
    assertFalse(again.added());
    assertFalse(again.announced(b));
    assertEquals(List.of("a"), sids(again.listed()), "itself excluded");
    assertEquals(2, again.seq());
    assertEquals(2, p.size());
  }

  @Test
  void aHiddenJoinIsListedAsOfTheCurrentNumberAndNotAnnounced() {
    PresenceMembers p = new PresenceMembers();
    p.join(m("a", "n1"));
    Member h = hidden("h", "n1");
    Joined j = p.join(h);
    assertTrue(j.added());
    assertFalse(j.announced(h));
    assertEquals(1, j.seq());
  }

  @Test
  void leavingReportsTheMemberOnceWithTheNextNumber() {
    PresenceMembers p = new PresenceMembers();
    p.join(m("a", "n1"));
    p.join(m("b", "n1"));
    Left left = p.leave("a");
    assertEquals("a", left.member().sid());
    assertEquals(3, left.seq());
    assertTrue(left.announced());
    assertNull(p.leave("a"), "a second leave finds nobody");
    assertNull(p.leave("nobody"));
    p.join(hidden("h", "n1"));
    Left h = p.leave("h");
    assertFalse(h.announced());
    assertEquals(3, h.seq(), "a hidden leave takes no number");
  }

  @Test
  void aDepartedNodesMembersLeaveInJoiningOrderAndOnlyOnce() {
    PresenceMembers p = new PresenceMembers();
    p.join(m("a", "dead"));
    p.join(m("b", "alive"));
    p.join(hidden("h", "dead"));
    p.join(m("c", "dead"));
    List<Left> gone = p.dropNode("dead");
    assertEquals(List.of("a", "h", "c"), gone.stream().map(l -> l.member().sid()).toList());
    assertEquals(List.of(4L, 4L, 5L), gone.stream().map(Left::seq).toList());
    assertEquals(List.of(), p.dropNode("dead"), "idempotent: a second run removes nothing");
    assertFalse(p.hasNode("dead"));
    assertEquals(List.of("b"), sids(p.join(m("d", "alive")).listed()));
  }

  @Test
  void listedAndAnnouncedShapesLetUidAndChannelWinOverData() {
    Member a = new Member("s", "alice", "{\"uid\":\"mallory\",\"channel\":\"x\",\"n\":1}", false, "n1");
    assertEquals(new JsonObject().put("uid", "alice").put("channel", "x").put("n", 1), a.listed());
    assertEquals(new JsonObject().put("uid", "alice").put("channel", "presence-r").put("n", 2).put("bye", true),
        a.announced("presence-r", new JsonObject().put("n", 2).put("bye", true).put("uid", "eve")));
  }

  @Test
  void theStateSurvivesJavaSerializationAsHazelcastUsesIt() throws Exception {
    PresenceMembers p = new PresenceMembers();
    p.join(m("a", "n1"));
    p.join(m("b", "n2"));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(p);
    }
    PresenceMembers copy;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      copy = (PresenceMembers) in.readObject();
    }
    assertEquals(2, copy.seq());
    assertEquals(List.of("a", "b"), sids(copy.join(m("c", "n3")).listed()));
  }
}
