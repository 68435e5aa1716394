package io.webrocket.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.webrocket.protocol.Frame;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A backend connection's broadcasts of one pass gathered into one bus message per channel run:
 * order, both bounds, a CC in between, nothing left behind at the end of the pass (no sockets).
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class BroadcastBatchTest {
  private record Published(String vhost, String channel, byte[] frames, int count) {}

  private final List<Published> out = new ArrayList<>();
  /** The event loop's task queue: end-of-pass tasks wait here until {@link #endPass}. */
  private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
  private final BroadcastBatch batch = new BroadcastBatch(
      (vhost, channel, frames, count) -> out.add(new Published(vhost, channel, frames.wire(), count)), tasks::add);

  private static Frame frame(String text) {
    return Frame.text(io.vertx.core.buffer.Buffer.buffer(text));
  }

  private static byte[] joined(Frame... frames) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Frame f : frames) {
      b.writeBytes(f.wire());
    }
    return b.toByteArray();
  }

  private void endPass() {
    Runnable t;
    while ((t = tasks.poll()) != null) {
      t.run();
    }
  }

  @Test
  void oneChannelsBroadcastsOfAPassLeaveAsOneMessageInOrderAtTheEndOfThePass() {
    List<Frame> frames = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      Frame f = frame("{\"q\":" + i + "}");
      frames.add(f);
      batch.add("/v", "a", f);
    }
    assertTrue(out.isEmpty(), "nothing leaves before the end of the pass");
    assertEquals(1, tasks.size(), "one end-of-pass task for the whole burst");
    endPass();
    assertEquals(1, out.size());
    assertEquals(100, out.get(0).count());
    assertArrayEquals(joined(frames.toArray(Frame[]::new)), out.get(0).frames(), "the frames back to back, in order");
    assertEquals(0, batch.pending());
  }

  @Test
  void aSingleBroadcastTravelsAsItIsWithoutACopy() {
    Frame f = frame("{\"only\":1}");
    List<Frame> seen = new ArrayList<>();
    BroadcastBatch b = new BroadcastBatch((v, c, frames, n) -> seen.add(frames), tasks::add);
    b.add("/v", "a", f);
    endPass();
    assertEquals(1, seen.size());
    assertSame(f, seen.get(0));
  }

  @Test
  void anotherChannelSendsWhatIsGatheredFirstSoOrderHoldsAcrossChannels() {
    Frame a1 = frame("{\"a\":1}");
    Frame a2 = frame("{\"a\":2}");
    Frame b1 = frame("{\"b\":1}");
    Frame a3 = frame("{\"a\":3}");
    Frame w1 = frame("{\"w\":1}");
    batch.add("/v", "a", a1);
    batch.add("/v", "a", a2);
    batch.add("/v", "b", b1);
    batch.add("/v", "a", a3);
    batch.add("/w", "a", w1); // same channel name, another vhost
    endPass();
    assertEquals(List.of("/v a 2", "/v b 1", "/v a 1", "/w a 1"),
        out.stream().map(p -> p.vhost() + " " + p.channel() + " " + p.count()).toList());
    assertArrayEquals(joined(a1, a2), out.get(0).frames());
    assertArrayEquals(joined(a3), out.get(2).frames());
  }

  @Test
  void aCloseInBetweenGetsWhatWasGatheredBeforeItAndTheRestLeavesAfter() {
    // The connection's CC calls send() once its earlier broadcasts are published (BackendConnection).
    Frame a1 = frame("{\"a\":1}");
    Frame a2 = frame("{\"a\":2}");
    Frame a3 = frame("{\"a\":3}");
    batch.add("/v", "a", a1);
    batch.add("/v", "a", a2);
    List<String> order = new ArrayList<>();
    batch.send();
    order.add("sent before CC: " + out.size() + " message(s), " + out.get(0).count() + " frames");
    batch.add("/v", "a", a3); // pipelined after the CC (it would be refused by the check; here just order)
    endPass();
    assertEquals(List.of("sent before CC: 1 message(s), 2 frames"), order);
    assertEquals(2, out.size());
    assertArrayEquals(joined(a3), out.get(1).frames());
    batch.send(); // nothing gathered: nothing sent
    assertEquals(2, out.size());
  }

  @Test
  void theFrameCountBoundSendsAFullBatchAndStartsAnother() {
    int n = BroadcastBatch.MAX_FRAMES * 2 + 5;
    List<Frame> frames = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Frame f = frame(Integer.toString(i));
      frames.add(f);
      batch.add("/v", "a", f);
      assertTrue(batch.pending() <= BroadcastBatch.MAX_FRAMES);
    }
    assertEquals(2, out.size(), "two full batches left during the pass");
    endPass();
    assertEquals(List.of(BroadcastBatch.MAX_FRAMES, BroadcastBatch.MAX_FRAMES, 5), out.stream().map(Published::count).toList());
    assertArrayEquals(joined(frames.toArray(Frame[]::new)), joined(out.stream().map(p -> new Frame(p.frames())).toArray(Frame[]::new)),
        "every frame once, in order");
  }

  @Test
  void theByteBoundSendsBeforeGoingOverAndABiggerFrameTravelsAlone() {
    String kb = "x".repeat(1000);
    List<Frame> frames = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      Frame f = frame("{\"p\":\"" + kb + "\",\"i\":" + i + "}");
      frames.add(f);
      batch.add("/v", "a", f);
    }
    Frame big = frame("{\"p\":\"" + "y".repeat(BroadcastBatch.MAX_BYTES) + "\"}");
    frames.add(big);
    batch.add("/v", "a", big);
    Frame after = frame("{\"after\":1}");
    frames.add(after);
    batch.add("/v", "a", after);
    endPass();
    for (Published p : out) {
      assertTrue(p.frames().length <= BroadcastBatch.MAX_BYTES || p.count() == 1,
          "a message over the byte bound carries one frame: " + p.frames().length + " bytes, " + p.count() + " frames");
    }
    assertTrue(out.size() >= 4, "200 frames of ~1 KB need several 64 KiB messages: " + out.size());
    assertEquals(frames.size(), out.stream().mapToInt(Published::count).sum());
    assertArrayEquals(joined(frames.toArray(Frame[]::new)), joined(out.stream().map(p -> new Frame(p.frames())).toArray(Frame[]::new)),
        "every frame once, in order");
    assertEquals(1, out.get(out.size() - 2).count(), "the big frame alone");
    assertEquals("{\"after\":1}", new String(out.get(out.size() - 1).frames(), 2, out.get(out.size() - 1).frames().length - 2,
        StandardCharsets.UTF_8));
  }

  @Test
  void eachPassGetsItsOwnEndOfPassTaskAndReusedStorageDoesNotLeakOldFrames() {
    Frame a1 = frame("{\"first\":\"pass, a longer frame than the next\"}");
    Frame a2 = frame("{\"first\":2}");
    batch.add("/v", "a", a1);
    batch.add("/v", "a", a2);
    endPass();
    Frame b1 = frame("{\"s\":1}");
    Frame b2 = frame("{\"s\":2}");
    batch.add("/v", "a", b1);
    batch.add("/v", "a", b2);
    assertEquals(1, tasks.size());
    endPass();
    assertEquals(2, out.size());
    assertArrayEquals(joined(b1, b2), out.get(1).frames());
  }
}
