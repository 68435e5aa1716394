package io.webrocket.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.webrocket.protocol.Frame;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A connection's broadcasts of one pass, gathered per run of one channel (no sockets). */
@Tag("fast")
@Timeout(10)
class BroadcastBatchTest {
  private record Sent(String channel, byte[] wire, int count) {}

  private final List<Sent> sent = new ArrayList<>();
  private final List<Runnable> endOfPass = new ArrayList<>();
  private final BroadcastBatch batch = new BroadcastBatch(
      (vhost, channel, frames, count) -> sent.add(new Sent(channel, frames.wire(), count)), endOfPass::add);

  private static Frame f(int b, int len) {
    byte[] w = new byte[len];
    java.util.Arrays.fill(w, (byte) b);
    return new Frame(w);
  }

  private void passEnds() {
    List<Runnable> tasks = new ArrayList<>(endOfPass);
    endOfPass.clear();
    tasks.forEach(Runnable::run);
  }

  @Test
  void aPassOfBroadcastsToOneChannelLeavesAsOneMessageInOrder() {
    batch.add("/v", "x", f(1, 2));
    batch.add("/v", "x", f(2, 3));
    batch.add("/v", "x", f(3, 1));
    assertEquals(List.of(), sent, "nothing before the end of the pass");
    passEnds();
    assertEquals(1, sent.size());
    assertArrayEquals(new byte[] {1, 1, 2, 2, 2, 3}, sent.get(0).wire());
    assertEquals(3, sent.get(0).count());
  }

  @Test
  void anotherChannelSendsWhatWasGatheredFirstSoOrderAcrossChannelsHolds() {
    batch.add("/v", "x", f(1, 1));
    batch.add("/v", "y", f(2, 1));
    batch.add("/v", "x", f(3, 1));
    batch.add("/w", "x", f(4, 1));
    passEnds();
    assertEquals(List.of("x", "y", "x", "x"), sent.stream().map(Sent::channel).toList());
    assertEquals(List.of(1, 2, 3, 4), sent.stream().map(s -> (int) s.wire()[0]).toList());
  }

  @Test
  void anExplicitSendLeavesAtOnceAndTheEndOfThePassFindsNothing() {
    batch.add("/v", "x", f(1, 1));
    batch.send();
    assertEquals(1, sent.size());
    passEnds();
    assertEquals(1, sent.size());
  }

  @Test
  void aMessageHoldsAtMostTheBound() {
    int len = 1000;
    int n = 3 * BroadcastBatch.MAX_BYTES / len;
    for (int i = 0; i < n; i++) {
      batch.add("/v", "x", f(i, len));
    }
    passEnds();
    assertEquals(n, sent.stream().mapToInt(Sent::count).sum());
    sent.forEach(s -> assertEquals(s.count() * len, s.wire().length));
    sent.forEach(s -> assertEquals(true, s.wire().length <= BroadcastBatch.MAX_BYTES));
  }
}
