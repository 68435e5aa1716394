package io.webrocket.protocol;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.webrocket.protocol.WbpRequest.Identity;
import io.webrocket.protocol.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Requests from decoded frames (identity, command, arguments), and the encoder's exact bytes. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class WbpRequestTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef01234567";
  private static final String UUID = "6f1c1a8e-3a4b-4f7e-9b3c-2a0f5d7e8c91";
  private static final String ID = "req:/demo:" + TOKEN + ":" + UUID;

  @Test
  void identityEmptyLineCommandAndFrames() {
    WbpRequest r = WbpRequest.parse(List.of(ID, "", "BC", "chat", "message", "{\"text\":\"hi\"}"));
    assertEquals(new Identity("req", "/demo", TOKEN, UUID), r.identity());
    assertFalse(r.identityMalformed());
    assertEquals("BC", r.command());
    assertEquals(List.of("chat", "message", "{\"text\":\"hi\"}"), r.args());
    assertEquals("chat", r.arg(0));
    assertEquals("{\"text\":\"hi\"}", r.arg(2));
    assertNull(r.arg(3));
  }

  @Test
  void workerIdentity() {
    WbpRequest r = WbpRequest.parse(List.of("dlr:/a/b-c/d_e:" + TOKEN.toUpperCase() + ":" + UUID, "", "RD"));
    assertTrue(r.identity().isWorker());
    assertEquals("/a/b-c/d_e", r.identity().vhost());
    assertEquals("RD", r.command());
    assertEquals(List.of(), r.args());
  }

  @Test
  void noIdentity() {
    WbpRequest r = WbpRequest.parse(List.of("OC", "chat"));
    assertNull(r.identity());
    assertFalse(r.identityMalformed());
    assertEquals("OC", r.command());
    assertEquals(List.of("chat"), r.args());
  }

  @Test
  void identityWithoutTheEmptyLine() {
    WbpRequest r = WbpRequest.parse(List.of(ID, "OC", "chat"));
    assertEquals("OC", r.command());
    assertEquals(List.of("chat"), r.args());
  }

  @Test
  void kosmonautTrailingEmptyFrameIsDropped() {
    WbpRequest r = WbpRequest.parse(List.of(ID, "", "OC", "chat", ""));
    assertEquals(List.of("chat"), r.args());
    WbpRequest ka = WbpRequest.parse(List.of(ID, "", "KA", ""));
    assertEquals("KA", ka.command());
    assertEquals(List.of(), ka.args());
  }

  @Test
  void emptyFramesInTheMiddleStay() {
    WbpRequest r = WbpRequest.parse(List.of("BC", "", "ev", "{}"));
    assertEquals(List.of("", "ev", "{}"), r.args());
    assertEquals("", r.arg(0));
  }

  @Test
  void identityOnlyHasNoCommand() {
    WbpRequest r = WbpRequest.parse(List.of(ID, ""));
    assertEquals("", r.command());
    assertEquals(List.of(), r.args());
    assertEquals("", WbpRequest.parse(List.of()).command());
  }

  @Test
  void malformedIdentities() {
    for (String bad : List.of(
        "xxx:/demo:" + TOKEN + ":" + UUID,             // type
        "REQ:/demo:" + TOKEN + ":" + UUID,
        "req:demo:" + TOKEN + ":" + UUID,              // vhost without slash
        "req:/de mo:" + TOKEN + ":" + UUID,
        "req:/demo/:" + TOKEN + ":" + UUID,
        "req:/:" + TOKEN + ":" + UUID,
        "req:/demo:" + TOKEN.substring(1) + ":" + UUID, // 39 chars
        "req:/demo:" + TOKEN + "0:" + UUID,             // 41 chars
        "req:/demo:" + TOKEN.replace('a', 'g') + ":" + UUID,
        "req:/demo:" + TOKEN + ":" + UUID.substring(1), // 35 chars
        "req:/demo:" + TOKEN + ":" + UUID + "0",
        "req:/demo:" + TOKEN,
        "req:/demo:" + TOKEN + ":" + UUID + ":extra",
        ":::",
        "req:/demo:" + TOKEN + ":" + UUID + " ")) {
      WbpRequest r = WbpRequest.parse(List.of(bad, "", "OC", "chat"));
      assertTrue(r.identityMalformed(), bad);
      assertNull(r.identity(), bad);
    }
  }

  @Test
  void encoderOkIsOkThenOneEmptyFrame() {
    assertEquals("OK\n\n\r\n\r\n", Wbp.OK.toString());
    assertEquals("OK\n\n\r\n\r\n", Wbp.encode("OK").toString());
  }

  @Test
  void encoderErrorIsErThenCode() {
    assertEquals("ER\n454\n\r\n\r\n", Wbp.error(454).toString());
    assertEquals("ER\n454\n\r\n\r\n", Wbp.error(Status.CHANNEL_NOT_FOUND).toString());
    assertEquals("ER\n402\n\r\n\r\n", Wbp.error(Status.UNAUTHORIZED).toString());
    assertEquals("ER\n400\n\r\n\r\n", Wbp.error(Status.BAD_REQUEST).toString());
  }

  @Test
  void encoderHeartbeatQuitAndFrames() {
    assertEquals("HB\n\n\r\n\r\n", Wbp.HB.toString());
    assertEquals("QT\n\n\r\n\r\n", Wbp.QT.toString());
    assertEquals("AT\nabc\n\r\n\r\n", Wbp.encode("AT", "abc").toString());
    assertEquals("TR\n{\"x\":{\"a\":1}}\n\r\n\r\n", Wbp.encode("TR", "{\"x\":{\"a\":1}}").toString());
    assertEquals("X\na\nb\n\r\n\r\n", Wbp.encode("X", "a", "b").toString());
  }

  @Test
  void encoderWritesUtf8() {
    Buffer b = Wbp.encode("TR", "{\"x\":\"é✓\"}");
    assertEquals("TR\n{\"x\":\"é✓\"}\n\r\n\r\n", b.toString("UTF-8"));
    assertEquals(3 + 13 + 5, b.length());
  }

  @Test
  void encodedRepliesDecodeBack() {
    List<List<String>> got = new java.util.ArrayList<>();
    WbpDecoder d = new WbpDecoder(1 << 16, got::add, () -> {});
    d.feed(Wbp.error(454));
    d.feed(Wbp.encode("AT", "abc"));
    d.feed(Wbp.OK);
    assertEquals(List.of(List.of("ER", "454"), List.of("AT", "abc"), List.of("OK", "")), got);
  }
}
