package io.webrocket.frontend;

import io.webrocket.protocol.Frame;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pass batch on its own: which messages share a segment, in what order segments are
 * written, the bound, and that every segment buffer is released. Over real sockets:
 * {@link FanoutOrderTest}.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class FanoutBatchTest {

  /** One sealed segment as the writer saw it. */
  record Written(String vhost, String channel, byte[] frames, int messages, ByteBuf buf) {}

  final List<Written> written = new ArrayList<>();
  final FanoutBatch batch = new FanoutBatch();

  FanoutBatchTest() {
    batch.writer((vhost, channel, frames, messages, firstOffset) ->
        written.add(new Written(vhost, channel, ByteBufUtil.getBytes(frames), messages, frames)));
  }

  static Frame frame(String text) {
    return Frame.text(Buffer.buffer(text));
  }

  static byte[] concat(Frame... frames) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Frame f : frames) {
      b.writeBytes(f.wire());
    }
    return b.toByteArray();
  }

  @Test
  void consecutiveMessagesOfOneChannelShareASegmentInArrivalOrder() {
    Frame x1 = frame("x1");
    Frame x2 = frame("x2");
    Frame x3 = frame("x3");
    batch.append("/v", "x", x1);
    batch.append("/v", "x", x2);
    batch.append("/v", "x", x3);
    assertTrue(written.isEmpty(), "nothing is written before the seal");
    batch.seal();
    assertEquals(1, written.size());
    assertEquals("x", written.get(0).channel());
    assertEquals(3, written.get(0).messages());
    assertArrayEquals(concat(x1, x2, x3), written.get(0).frames());
  }

  @Test
  void anotherChannelBetweenStartsNewSegmentsSoX1Y1X2StaysInThatOrder() {
    Frame x1 = frame("x1");
    Frame y1 = frame("y1");
    Frame x2 = frame("x2");
    Frame x3 = frame("x3");
    Frame otherVhost = frame("x in /w");
    batch.append("/v", "x", x1);
    batch.append("/v", "y", y1);
    batch.append("/v", "x", x2);
    batch.append("/v", "x", x3);
    batch.append("/w", "x", otherVhost);
    batch.seal();
    assertEquals(List.of("/v x 1", "/v y 1", "/v x 2", "/w x 1"),
        written.stream().map(w -> w.vhost() + " " + w.channel() + " " + w.messages()).toList());
    assertArrayEquals(concat(x1), written.get(0).frames());
    assertArrayEquals(concat(y1), written.get(1).frames());
    assertArrayEquals(concat(x2, x3), written.get(2).frames());
    assertArrayEquals(concat(otherVhost), written.get(3).frames());
  }

  @Test
  void sealedSegmentsAreReleasedAndASecondSealWritesNothing() {
    batch.append("/v", "x", frame("x1"));
    batch.append("/v", "y", frame("y1"));
    batch.seal();
    batch.seal();
    assertEquals(2, written.size());
    for (Written w : written) {
      assertEquals(0, w.buf().refCnt(), "released once written");
    }
  }

  @Test
  void aWriterThatKeepsADuplicateKeepsTheBytesAlive() {
    List<ByteBuf> kept = new ArrayList<>();
    batch.writer((vhost, channel, frames, messages, firstOffset) -> kept.add(frames.retainedDuplicate()));
    Frame x1 = frame("x1");
    batch.append("/v", "x", x1);
    batch.seal();
    assertEquals(1, kept.size());
    assertArrayEquals(x1.wire(), ByteBufUtil.getBytes(kept.get(0)));
    kept.get(0).release();
    assertEquals(0, kept.get(0).refCnt());
  }

  @Test
  void pendingBytesAreBoundedTheMessageThatWouldGoOverSealsFirst() {
    Frame f = frame("x".repeat(998)); // 1,002 bytes on the wire
    int fit = FanoutBatch.MAX_PENDING_BYTES / f.wire().length;
    for (int i = 0; i < fit; i++) {
      batch.append("/v", "x", f);
    }
    assertTrue(written.isEmpty(), fit + " frames fit");
    batch.append("/v", "x", f);
    assertEquals(1, written.size(), "the next one sealed the full segment first");
    assertEquals(fit, written.get(0).messages());
    assertTrue(written.get(0).frames().length <= FanoutBatch.MAX_PENDING_BYTES);
    batch.seal();
    assertEquals(2, written.size());
    assertEquals(1, written.get(1).messages(), "and started a new one");
  }

  @Test
  void aFrameLargerThanTheBoundTravelsAlone() {
    Frame small = frame("small");
    Frame big = frame("b".repeat(FanoutBatch.MAX_PENDING_BYTES + 1));
    batch.append("/v", "x", small);
    batch.append("/v", "x", big);
    batch.append("/v", "x", small);
    batch.seal();
    assertEquals(List.of(1, 1, 1), written.stream().map(Written::messages).toList());
    assertArrayEquals(big.wire(), written.get(1).frames());
  }

  @Test
  void aSealFromInsideTheWriterDoesNotJumpTheQueue() {
    List<String> order = new ArrayList<>();
    batch.writer((vhost, channel, frames, messages, firstOffset) -> {
      batch.seal(); // e.g. a failed write that closes a socket, which leaves its channels
      order.add(channel);
    });
    batch.append("/v", "x", frame("x1"));
    batch.append("/v", "y", frame("y1"));
    batch.append("/v", "z", frame("z1"));
    batch.seal();
    assertEquals(List.of("x", "y", "z"), order);
  }
}
