package io.webrocket.protocol;

import io.webrocket.bus.FrameCodec;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

/** The pre-encoded frame is a valid server frame at every length class, and crosses the bus intact. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class FrameTest {

  private static String decode(Frame f) {
    // Netty's own client-side decoder (unmasked frames expected) is the reference.
    EmbeddedChannel ch = new EmbeddedChannel(new WebSocket13FrameDecoder(false, false, 1 << 20));
    ch.writeInbound(Unpooled.wrappedBuffer(f.wire()));
    TextWebSocketFrame frame = ch.readInbound();
    try {
      assertEquals(true, frame.isFinalFragment());
      return frame.text();
    } finally {
      frame.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void everyLengthClassDecodesToTheSameText() {
    for (int len : new int[] {0, 1, 125, 126, 127, 65535, 65536, 200_000}) {
      String text = "x".repeat(len);
      Frame f = Frame.text(Buffer.buffer(text));
      assertEquals(len + (len < 126 ? 2 : len < 65536 ? 4 : 10), f.wire().length, "length " + len);
      assertEquals(text, decode(f), "length " + len);
    }
  }

  @Test
  void utf8PayloadIsCarriedAsBytes() {
    String text = "{\"m\":{\"t\":\"żółw 🐢\"}}";
    assertEquals(text, decode(Frame.text(Buffer.buffer(text))));
  }

  @Test
  void codecKeepsLocalFramesAndRoundTripsRemoteOnes() {
    FrameCodec codec = new FrameCodec();
    Frame f = Frame.text(Buffer.buffer("{\"e\":{}}"));
    assertSame(f, codec.transform(f), "no copy for local consumers");
    Buffer wire = Buffer.buffer().appendString("prefix");
    codec.encodeToWire(wire, f);
    assertArrayEquals(f.wire(), codec.decodeFromWire(6, wire).wire());
  }
}
