package io.webrocket.frontend;

import static io.webrocket.frontend.EmbeddedLoop.clientFrame;
import static io.webrocket.frontend.EmbeddedLoop.clientText;
import static io.webrocket.frontend.EmbeddedLoop.gate;
import static io.webrocket.frontend.EmbeddedLoop.handshakeChannel;
import static io.webrocket.frontend.EmbeddedLoop.writeAscii;
import static io.webrocket.frontend.EmbeddedLoop.written;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The frame socket ({@link BrowserSocket}) on Netty's EmbeddedChannel, after a real upgrade:
 * what it delivers to its session ({@link TransportEvents}) for raw client frames, and the bytes
 * it writes for what the session asks ({@link Transport}). The session here records what it
 * gets and answers like the WWFP one: a fault closes, a ping is answered within the bound.
 */
@Tag("fast")
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BrowserSocketTest {
  EmbeddedChannel ch;
  BrowserSocket socket;
  final List<String> events = new ArrayList<>();

  /** Records what the transport delivers; faults close like the WWFP session does. */
  final TransportEvents session = new TransportEvents() {
    @Override
    public void opened() {
      events.add("opened");
    }

    @Override
    public void onText(String text) {
      events.add("text:" + text);
    }

    @Override
    public void onBinary() {
      events.add("binary");
    }

    @Override
    public boolean controlFrameAllowed() {
      return true;
    }

    @Override
    public void pong(ByteBuf frame) {
      socket.replyIfRoom(frame);
    }

    @Override
    public void messageTimedOut() {
      events.add("messageTimedOut");
    }

    @Override
    public void shutdown(short status, String reason) {
      events.add("shutdown:" + status);
      socket.close(status, reason);
    }

    @Override
    public void onClosed() {
      events.add("closed");
    }
  };

  @BeforeEach
  void upgrade() {
    EmbeddedLoop[] loop = new EmbeddedLoop[1];
    ch = handshakeChannel(gate((hs, ctx, req) -> {
      socket = new BrowserSocket(loop[0], new Outbound(loop[0]));
      socket.attach(session);
      assertTrue(hs.accept(ctx, req, 64, socket, session::opened));
    }));
    loop[0] = new EmbeddedLoop(ch::eventLoop);
    writeAscii(ch, HandshakeTest.upgrade("/demo", "13", HandshakeTest.KEY));
    ch.flushOutbound();
    written(ch); // the 101
    events.clear();
  }

  @AfterEach
  void release() {
    ch.finishAndReleaseAll();
  }

  static byte[] serverText(String text) {
    return io.webrocket.protocol.Frame.text(Buffer.buffer(text)).wire();
  }

  @Test
  void textMessageIsDeliveredWhole() {
    ch.writeInbound(clientText("{\"a\":1}"));
    assertEquals(List.of("text:{\"a\":1}"), events);
  }

  @Test
  void fragmentsAreJoinedIntoOneMessage() {
    ch.writeInbound(clientFrame(false, 0x1, "hel".getBytes(StandardCharsets.UTF_8)));
    ch.writeInbound(clientFrame(false, 0x0, "lo ".getBytes(StandardCharsets.UTF_8)));
    assertEquals(List.of(), events, "nothing before the last fragment");
    ch.writeInbound(clientFrame(true, 0x0, "you".getBytes(StandardCharsets.UTF_8)));
    assertEquals(List.of("text:hello you"), events);
  }

  @Test
  void binaryMessageIsDeliveredAsBinary() {
    ch.writeInbound(clientFrame(true, 0x2, new byte[] {1, 2, 3}));
    assertEquals(List.of("binary"), events);
  }

  @Test
  void invalidUtf8ClosesWith1007() {
    ch.writeInbound(clientFrame(true, 0x1, new byte[] {(byte) 0xC3, (byte) 0x28}));
    assertEquals(List.of("shutdown:1007"), events);
    byte[] out = written(ch);
    assertEquals((byte) 0x88, out[0], "a close frame");
    assertEquals(1007, ((out[2] & 0xFF) << 8) | (out[3] & 0xFF));
  }

  @Test
  void pingIsAnsweredWithAPongCarryingItsData() {
    ch.writeInbound(clientFrame(true, 0x9, new byte[] {7, 8}));
    assertArrayEquals(new byte[] {(byte) 0x8A, 2, 7, 8}, written(ch));
  }

  @Test
  void replyLeavesAsTheExactFrameAtTheEndOfThePass() {
    ByteBuf frame = Unpooled.wrappedBuffer(serverText("{\"x\":1}"));
    assertTrue(socket.reply(frame), "within the bound");
    frame.release();
    assertArrayEquals(serverText("{\"x\":1}"), written(ch));
  }

  @Test
  void pausedSocketHoldsMessagesAndHandsThemOverInOrderOnResume() {
    socket.pause();
    assertFalse(ch.config().isAutoRead());
    ch.writeInbound(clientText("one"));
    ch.writeInbound(clientText("two"));
    assertEquals(List.of(), events);
    socket.resume();
    assertEquals(List.of("text:one", "text:two"), events);
    assertTrue(ch.config().isAutoRead());
  }

  @Test
  void peerCloseIsEchoedWithItsStatusAndEndsTheConnection() {
    ch.writeInbound(clientFrame(true, 0x8, new byte[] {0x03, (byte) 0xE9})); // 1001
    assertEquals("closed", events.get(0));
    byte[] out = written(ch);
    assertArrayEquals(new byte[] {(byte) 0x88, 2, 0x03, (byte) 0xE9}, out);
    assertFalse(ch.isOpen());
  }

  @Test
  void serverCloseWaitsForThePeersCloseThenEnds() {
    socket.close((short) 1000, null);
    assertTrue(socket.closeSent());
    byte[] out = written(ch);
    assertEquals((byte) 0x88, out[0]);
    assertTrue(ch.isOpen(), "waits for the answer");
    ch.writeInbound(clientFrame(true, 0x8, new byte[] {0x03, (byte) 0xE8}));
    assertFalse(ch.isOpen());
  }

  @Test
  void serverCloseWithoutAnswerEndsAfterTheClosingTimeout() {
    socket.close((short) 1000, null);
    ch.advanceTimeBy(BrowserSocket.CLOSING_TIMEOUT_MS + 1, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertFalse(ch.isOpen());
  }

  @Test
  void messageOverTheFrameLimitClosesWith1009() {
    ch.writeInbound(clientText("x".repeat(100))); // limit 64
    byte[] out = written(ch);
    assertEquals((byte) 0x88, out[0]);
    assertEquals(1009, ((out[2] & 0xFF) << 8) | (out[3] & 0xFF));
  }

  @Test
  void unfinishedFragmentedMessageTimesOut() {
    ch.writeInbound(clientFrame(false, 0x1, "he".getBytes(StandardCharsets.UTF_8)));
    ch.advanceTimeBy(1001, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertEquals(List.of("messageTimedOut"), events);
  }
}
