package io.webrocket.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.webrocket.history.ChannelHistory.Page;
import io.webrocket.history.HistorySettings.Policy;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The in-memory ring: offsets, reads, and every bound (size, lifetime, channel bytes, node bytes). */
@Tag("fast")
class LocalChannelHistoryTest {
  private final LocalChannelHistory h = new LocalChannelHistory(1 << 20, new HistoryMetrics(new SimpleMeterRegistry()));
  private static final Policy P = new Policy(5, 60_000, 1 << 20);

  private static List<byte[]> bodies(int n) {
    return java.util.stream.IntStream.range(0, n).mapToObj(i -> ("{\"e\":{\"n\":" + i + "}}").getBytes()).toList();
  }

  @Test
  void offsetsStartAtOneAndAreConsecutiveAcrossAppends() {
    assertEquals(1, h.appendNow("/v:k", P, bodies(3), 0).firstOffset());
    assertEquals(4, h.appendNow("/v:k", P, bodies(1), 0).firstOffset());
    Page p = h.readNow("/v:k", P, 0, 10, 0);
    assertEquals(1, p.oldest());
    assertEquals(4, p.top());
    assertEquals(List.of(1L, 2L, 3L, 4L), p.entries().stream().map(ChannelHistory.Entry::offset).toList());
    assertEquals(List.of(3L, 4L), h.readNow("/v:k", P, 2, 10, 0).entries().stream().map(ChannelHistory.Entry::offset).toList());
    assertEquals(1, h.readNow("/v:k", P, 2, 1, 0).entries().size(), "the limit");
  }

  @Test
  void anEmptyHistoryStandsAtZero() {
    Page p = h.readNow("new", P, 0, 10, 0);
    assertEquals(0, p.top());
    assertEquals(1, p.oldest());
    assertTrue(p.continues(p.epoch(), 0));
  }

  @Test
  void sizeKeepsTheNewest() {
    h.appendNow("/v:k", P, bodies(12), 0);
    Page p = h.readNow("/v:k", P, 0, 100, 0);
    assertEquals(8, p.oldest());
    assertEquals(12, p.top());
    assertEquals(5, p.entries().size());
    assertTrue(p.continues(p.epoch(), 7));
    assertFalse(p.continues(p.epoch(), 6), "offset 7 is gone");
    assertFalse(p.continues(p.epoch(), 13), "not given yet");
    assertFalse(p.continues("other", 10));
  }

  @Test
  void lifetimeDropsExpiredEvents() {
    h.appendNow("/v:k", P, bodies(2), 1_000);
    h.appendNow("/v:k", P, bodies(1), 50_000);
    Page p = h.readNow("/v:k", P, 0, 10, 61_500);
    assertEquals(3, p.oldest());
    assertEquals(1, p.entries().size());
    h.sweep((v, c) -> P, 200_000);
    assertEquals(0, h.entries());
    assertEquals(3, h.readNow("/v:k", P, 0, 10, 200_000).top(), "offsets survive expiry");
  }

  @Test
  void channelAndNodeBytesAreBounded() {
    Policy small = new Policy(1000, 60_000, 1000);
    h.appendNow("/v:k", small, bodies(100), 0);
    assertTrue(h.bytes() <= 1000, "per channel: " + h.bytes());
    LocalChannelHistory node = new LocalChannelHistory(2000, null);
    Policy big = new Policy(1000, 60_000, 1 << 20);
    node.appendNow("a", big, bodies(100), 0);
    node.appendNow("b", big, bodies(100), 0);
    assertTrue(node.bytes() <= 2000, "per node: " + node.bytes());
  }

  @Test
  void aDroppedChannelStartsANewEpoch() {
    h.appendNow("/v:c", P, bodies(2), 0);
    String before = h.readNow("/v:c", P, 0, 0, 0).epoch();
    h.drop("/v", "c");
    Page after = h.readNow("/v:c", P, 0, 0, 0);
    assertNotEquals(before, after.epoch());
    assertEquals(0, after.top());
    assertEquals(0, h.bytes());
  }

  @Test
  void aSweepForgetsChannelsThatNoLongerKeepHistory() {
    h.appendNow("/v:c", P, bodies(2), 0);
    h.sweep((v, c) -> null, 0);
    assertEquals(0, h.channels());
    assertEquals(0, h.bytes());
  }

  @Test
  void offsetsAreSplicedIntoTheEncodedEvent() {
    byte[] body = OffsetFrames.body("msg", new io.vertx.core.json.JsonObject().put("offset", "mine").put("x", 1), "c", null);
    byte[] wire = OffsetFrames.frame(body, 42).wire();
    String json = new String(wire, 2, wire.length - 2);
    assertEquals("{\"msg\":{\"x\":1,\"channel\":\"c\",\"offset\":42}}", json);
  }
}
