package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.webrocket.protocol.Frame;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** What an endpoint instance keeps for its sockets' presence joins under way: plain state, no sockets. */
@Tag("fast")
class PresenceJoinsTest {
  private int dropped;
  private final PresenceJoins joins = new PresenceJoins(4, () -> dropped++);

  private static Frame f(long seq) {
    return new Frame(new byte[] {(byte) seq});
  }

  private static List<Long> seqs(List<PresenceJoins.Numbered> window) {
    window.forEach(n -> assertEquals(n.seq(), (long) n.frame().wire()[0], "the frame numbered " + n.seq()));
    return window.stream().map(PresenceJoins.Numbered::seq).toList();
  }

  @Test
  void nothingIsKeptWithoutAJoinUnderWay() {
    joins.seen("/v", "presence-a", 1, f(1));
    assertEquals(0, joins.held());
    assertEquals(0, joins.channels());
  }

  @Test
  void aJoinGetsWhatArrivedBetweenItsRequestAndItsAnswerInOrder() {
    joins.seen("/v", "presence-a", 1, f(1)); // before the request: in its list, not kept
    PresenceJoins.Start start = joins.begin("/v", "presence-a");
    joins.seen("/v", "presence-a", 2, f(2));
    joins.seen("/v", "presence-b", 7, f(7)); // another channel: not this join's
    joins.seen("/v", "presence-a", 3, f(3));
    assertEquals(List.of(2L, 3L), seqs(joins.end(start)));
    assertEquals(0, joins.held(), "nothing is kept once no join of the channel is under way");
    assertEquals(0, joins.channels());
  }

  @Test
  void overlappingJoinsEachGetWhatCameAfterTheirOwnStartAndTheWindowLastsUntilTheLastAnswer() {
    PresenceJoins.Start first = joins.begin("/v", "presence-a");
    joins.seen("/v", "presence-a", 2, f(2));
    PresenceJoins.Start second = joins.begin("/v", "presence-a");
    joins.seen("/v", "presence-a", 3, f(3));
    assertEquals(List.of(3L), seqs(joins.end(second)));
    joins.seen("/v", "presence-a", 4, f(4));
    assertEquals(List.of(2L, 3L, 4L), seqs(joins.end(first)));
    assertEquals(0, joins.held());
    assertEquals(0, joins.channels());
  }

  @Test
  void theBoundDropsTheOldestCountsItAndAppliesLive() {
    PresenceJoins.Start start = joins.begin("/v", "presence-a");
    for (long seq = 1; seq <= 6; seq++) {
      joins.seen("/v", "presence-a", seq, f(seq));
    }
    assertEquals(2, dropped);
    assertEquals(4, joins.held());
    joins.bound(2);
    joins.seen("/v", "presence-a", 7, f(7));
    assertEquals(5, dropped, "a lowered bound applies at the next arrival");
    assertEquals(List.of(6L, 7L), seqs(joins.end(start)));
    assertEquals(0, joins.held());
  }

  @Test
  void aFailedJoinEndsItsWindowToo() {
    PresenceJoins.Start start = joins.begin("/v", "presence-a");
    joins.seen("/v", "presence-a", 1, f(1));
    joins.end(start);
    joins.seen("/v", "presence-a", 2, f(2));
    assertEquals(0, joins.held());
  }
}
