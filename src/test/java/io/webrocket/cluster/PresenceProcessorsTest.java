package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.webrocket.presence.PresenceMembers;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.AbstractMap.SimpleEntry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The entry processors of {@link ClusterPresenceGrid}, applied to an entry as Hazelcast applies
 * them on a key's owner and again on its backup, after a trip through Java serialization (how
 * they reach the owner): same results on both copies, each member removed by one run only.
 */
@Tag("fast")
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PresenceProcessorsTest {

  @SuppressWarnings("unchecked")
  private static <T> T shipped(T processor) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(processor);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (T) in.readObject();
    }
  }

  private static Map.Entry<String, PresenceMembers> entry() {
    return new SimpleEntry<>("/v\npresence-room", null);
  }

  private static Member m(String sid, String node) {
    return new Member(sid, "u" + sid, "{}", false, node);
  }

  @Test
  void ownerAndBackupAgreeOnEveryChange() throws Exception {
    Map.Entry<String, PresenceMembers> owner = entry();
    Map.Entry<String, PresenceMembers> backup = entry();
    for (String sid : List.of("a", "b", "c")) {
      var p = shipped(new ClusterPresenceGrid.JoinProcessor(m(sid, "n" + sid)));
      Joined onOwner = p.process(owner);
      Joined onBackup = p.getBackupProcessor().process(backup);
      assertEquals(onOwner, onBackup);
    }
    var leave = shipped(new ClusterPresenceGrid.LeaveProcessor("b"));
    Left left = leave.process(owner);
    assertEquals(left, leave.getBackupProcessor().process(backup));
    assertEquals(4, left.seq());
    assertEquals(owner.getValue().seq(), backup.getValue().seq());
    assertEquals(2, backup.getValue().size());
  }

  @Test
  void aJoinCreatesTheEntryAndALeaveOfNobodyChangesNothing() throws Exception {
    Map.Entry<String, PresenceMembers> e = entry();
    assertNull(shipped(new ClusterPresenceGrid.LeaveProcessor("x")).process(e));
    assertNull(e.getValue(), "no entry made for nothing");
    Joined j = shipped(new ClusterPresenceGrid.JoinProcessor(m("a", "n1"))).process(e);
    assertEquals(1, j.seq());
    PresenceMembers value = e.getValue();
    shipped(new ClusterPresenceGrid.LeaveProcessor("a")).process(e);
    assertSame(value, e.getValue(), "an empty channel keeps its entry, so its numbers go on");
    assertEquals(2, e.getValue().seq());
  }

  @Test
  void eachSurvivorsRunOverADepartedNodeRemovesEachMemberOnce() throws Exception {
    Map.Entry<String, PresenceMembers> e = entry();
    for (String sid : List.of("a", "b", "c")) {
      new ClusterPresenceGrid.JoinProcessor(m(sid, sid.equals("b") ? "alive" : "dead")).process(e);
    }
    var first = shipped(new ClusterPresenceGrid.DropNodeProcessor("dead")).process(e);
    var second = shipped(new ClusterPresenceGrid.DropNodeProcessor("dead")).process(e);
    assertEquals(List.of("a", "c"), first.stream().map(l -> l.member().sid()).toList());
    assertNull(second, "the other survivor finds nobody left to announce");
    assertEquals(1, e.getValue().size());
  }
}
