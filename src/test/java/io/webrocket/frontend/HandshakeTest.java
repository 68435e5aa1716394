package io.webrocket.frontend;

import static io.webrocket.frontend.EmbeddedLoop.gate;
import static io.webrocket.frontend.EmbeddedLoop.handshakeChannel;
import static io.webrocket.frontend.EmbeddedLoop.writeAscii;
import static io.webrocket.frontend.EmbeddedLoop.writtenAscii;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HTTP phase of a connection on the WebSocket port ({@link Handshake}, RFC 6455 section 4)
 * on Netty's EmbeddedChannel: raw request bytes in, raw response bytes out, with a gate that
 * stands for the endpoint's admission.
 */
@Tag("fast")
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HandshakeTest {
  /** RFC 6455 4.2.2's own example: this key must be answered with this accept value. */
  static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  static final String ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

  static String upgrade(String path, String version, String key) {
    return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + (key == null ? "" : "Sec-WebSocket-Key: " + key + "\r\n")
        + "Sec-WebSocket-Version: " + version + "\r\n\r\n";
  }

  @Test
  void plainRequestGets404ThatSaysWhereToGo() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> { throw new AssertionError("not an upgrade"); }));
    writeAscii(ch, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    String res = writtenAscii(ch);
    assertTrue(res.startsWith("HTTP/1.1 404 Not Found\r\n"), res);
    assertTrue(res.endsWith("WebRocket: open a WebSocket on /VHOST\n"), res);
    assertTrue(ch.isActive(), "keep-alive: the connection stays");
    ch.finishAndReleaseAll();
  }

  @Test
  void acceptedUpgradeAnswers101WithTheAcceptValueAndSwitchesToFrames() {
    AtomicInteger opened = new AtomicInteger();
    EmbeddedLoop[] loop = new EmbeddedLoop[1];
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> {
      BrowserSocket socket = new BrowserSocket(loop[0], new Outbound(loop[0]));
      assertTrue(hs.accept(ctx, req, 1024, socket, opened::incrementAndGet));
    }));
    loop[0] = new EmbeddedLoop(ch::eventLoop);
    writeAscii(ch, upgrade("/demo", "13", KEY));
    assertEquals("", writtenAscii(ch), "the 101 is queued, to leave with the session's first message");
    ch.flushOutbound();
    String res = writtenAscii(ch);
    assertTrue(res.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), res);
    assertTrue(res.contains("sec-websocket-accept: " + ACCEPT + "\r\n"), res);
    assertTrue(res.toLowerCase().contains("upgrade: websocket\r\n"), res);
    assertEquals(1, opened.get());
    assertEquals(java.util.List.of("wsencoder", "wsdecoder", "messages", "browser"),
        ch.pipeline().names().subList(0, 4));
    assertNull(ch.pipeline().get("handshake"));
    assertNull(ch.pipeline().get("aggregator"));
    assertTrue(ch.config().isAutoRead(), "reads on after the switch");
    ch.finishAndReleaseAll();
  }

  @Test
  void refusedUpgradeGetsItsStatusAndTheConnectionEnds() {
    for (int status : new int[] {403, 404, 503}) {
      EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> hs.refuse(ctx, req, status)));
      writeAscii(ch, upgrade("/demo", "13", KEY));
      String res = writtenAscii(ch);
      assertTrue(res.startsWith("HTTP/1.1 " + status + " "), res);
      assertTrue(res.toLowerCase().contains("connection: close\r\n"), res);
      assertFalse(ch.isOpen(), "closed after the refusal");
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void nothingMoreIsReadWhileTheGateDecides() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> req.release())); // no answer yet
    writeAscii(ch, upgrade("/demo", "13", KEY));
    assertFalse(ch.config().isAutoRead());
    ch.finishAndReleaseAll();
  }

  @Test
  void unsupportedVersionGets426NamingVersion13() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> { throw new AssertionError("not asked"); }));
    writeAscii(ch, upgrade("/demo", "8", KEY));
    String res = writtenAscii(ch);
    assertTrue(res.startsWith("HTTP/1.1 426 Upgrade Required\r\n"), res);
    assertTrue(res.toLowerCase().contains("sec-websocket-version: 13\r\n"), res);
    ch.finishAndReleaseAll();
  }

  @Test
  void upgradeThatIsNotAGetGets400() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> { throw new AssertionError("not asked"); }));
    writeAscii(ch, upgrade("/demo", "13", KEY).replaceFirst("GET", "POST"));
    assertTrue(writtenAscii(ch).startsWith("HTTP/1.1 400 Bad Request\r\n"));
    assertFalse(ch.isOpen());
    ch.finishAndReleaseAll();
  }

  @Test
  void upgradeWithoutKeyGets400EvenWhenAdmitted() {
    boolean[] accepted = {true};
    EmbeddedLoop[] loop = new EmbeddedLoop[1];
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) ->
        accepted[0] = hs.accept(ctx, req, 1024, new BrowserSocket(loop[0], new Outbound(loop[0])), () -> {})));
    loop[0] = new EmbeddedLoop(ch::eventLoop);
    writeAscii(ch, upgrade("/demo", "13", null));
    assertFalse(accepted[0], "accept says no, so the endpoint gives the connection place back");
    assertTrue(writtenAscii(ch).startsWith("HTTP/1.1 400 Bad Request\r\n"));
    assertFalse(ch.isOpen());
    ch.finishAndReleaseAll();
  }

  @Test
  void connectionThatDoesNotUpgradeInTimeIsClosed() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> req.release()));
    ch.advanceTimeBy(999, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertTrue(ch.isOpen());
    ch.advanceTimeBy(2, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertFalse(ch.isOpen(), "closed after websocket.handshakeTimeoutMs");
    ch.finishAndReleaseAll();
  }

  @Test
  void clientLibraryIsServedOnThePort() {
    EmbeddedChannel ch = handshakeChannel(gate((hs, ctx, req) -> { throw new AssertionError("not an upgrade"); }));
    writeAscii(ch, "GET /webrocket.js HTTP/1.1\r\nHost: localhost\r\n\r\n");
    String res = writtenAscii(ch);
    assertTrue(res.startsWith("HTTP/1.1 200 OK\r\n"), res.substring(0, Math.min(200, res.length())));
    assertTrue(res.contains("WebRocket"), "the script");
    ch.finishAndReleaseAll();
  }
}
