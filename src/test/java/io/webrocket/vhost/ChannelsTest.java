package io.webrocket.vhost;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The registry's channel and presence state on its own: no sockets, no event bus. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class ChannelsTest {
  private final Channels channels = new Channels();

  @Test
  void aChannelOpensOnceAndClosingReturnsItsSubscribers() {
    assertTrue(channels.open("presence-room"));
    assertFalse(channels.open("presence-room"));
    Channel c = channels.get("presence-room");
    channels.join(c, "s1", "alice", new JsonObject(), false, "n1");
    Channel closed = channels.close("presence-room");
    assertEquals(Set.of("s1"), closed.subscribers.keySet());
    assertFalse(channels.isOpen("presence-room"));
    assertNull(channels.close("presence-room"));
  }

  @Test
  void presenceListIsInJoiningOrderWithoutHiddenMembersOrTheAsker() {
    channels.open("presence-room");
    Channel c = channels.get("presence-room");
    channels.join(c, "s1", "alice", new JsonObject().put("x", 1), false, "n1");
    channels.join(c, "s2", "bob", new JsonObject(), true, "n1");
    channels.join(c, "s3", "carol", new JsonObject().put("uid", "spoof"), false, "n2");
    assertEquals(new JsonArray().add(new JsonObject().put("uid", "alice").put("x", 1))
        .add(new JsonObject().put("uid", "carol")), c.presenceList("s2"));
    assertEquals(new JsonArray().add(new JsonObject().put("uid", "carol")), c.presenceList("s1"));
  }

  @Test
  void joiningAgainChangesNothing() {
    channels.open("room");
    Channel c = channels.get("room");
    Channel.Member first = channels.join(c, "s1", "a", new JsonObject(), false, "n1");
    assertNotNull(first);
    assertNull(channels.join(c, "s1", "a", new JsonObject().put("new", true), false, "n1"));
    assertEquals(first, c.subscribers.get("s1"));
  }

  @Test
  void leavingReturnsTheMemberOnceOnly() {
    channels.open("room");
    Channel c = channels.get("room");
    channels.join(c, "s1", "a", new JsonObject(), false, "n1");
    assertEquals("a", channels.leave(c, "s1").uid());
    assertNull(channels.leave(c, "s1"));
  }

  @Test
  void membersOfDeadNodesLeaveAndLiveOnesStay() {
    channels.open("presence-a");
    channels.open("b");
    channels.join(channels.get("presence-a"), "s1", "a", new JsonObject(), false, "dead");
    channels.join(channels.get("presence-a"), "s2", "b", new JsonObject(), false, "live");
    channels.join(channels.get("b"), "s3", "c", new JsonObject(), false, "dead");
    List<Channels.Left> left = channels.leaveNodesOtherThan(Set.of("live"));
    assertEquals(2, left.size());
    assertEquals(Set.of("s2"), channels.get("presence-a").subscribers.keySet());
    assertTrue(channels.get("b").subscribers.isEmpty());
  }

  @Test
  void restoredMembersKeepTheirOrderAndNewOnesComeAfter() {
    channels.open("presence-room");
    channels.restore("presence-room", "s9", new Channel.Member("old", new JsonObject(), false, "n", 41));
    channels.restore("no-such-channel", "s8", new Channel.Member("x", new JsonObject(), false, "n", 50));
    Channel.Member next = channels.join(channels.get("presence-room"), "s1", "new", new JsonObject(), false, "n");
    assertEquals(42, next.seq());
    assertFalse(channels.isOpen("no-such-channel"));
  }

  @Test
  void announcementsLetUidAndChannelWinOverData() {
    Channel.Member m = new Channel.Member("alice", new JsonObject(), false, "n", 1);
    JsonObject data = new JsonObject().put("uid", "mallory").put("channel", "other").put("mood", "ok");
    assertEquals(new JsonObject().put("uid", "alice").put("channel", "presence-x").put("mood", "ok"),
        m.announced("presence-x", data));
  }
}
