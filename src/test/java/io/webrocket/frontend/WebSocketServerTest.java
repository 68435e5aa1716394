package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The WebSocket layer under WWFP (RFC 6455), as the endpoint's own Netty pipeline implements it:
 * the HTTP phase before the upgrade, control frames, messages in fragments, the closing
 * handshake, and the listening port shared by the endpoint instances.
 */
class WebSocketServerTest {
  static TestNode node;

  @BeforeAll
  static void start() {
    // Two instances: they share the port (SO_REUSEPORT) even on a one-core machine.
    node = TestNode.start(new JsonObject().put("websocket", new JsonObject()
        .put("instances", 2).put("handshakeTimeoutMs", 500).put("maxFrameSize", 1024)));
    node.createVhost("/demo");
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  RawWs open() throws IOException {
    RawWs ws = RawWs.connect(node.wsPort, "/demo", null, 0);
    assertEquals(101, ws.status);
    assertTrue(ws.readText().startsWith("{\":connected\""), "first message: connected");
    return ws;
  }

  /** Writes {@code request} on a fresh connection and reads what comes back until the server closes or 2 s pass. */
  static String http(Socket s, String request) throws IOException {
    s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    return readResponse(s.getInputStream());
  }

  static String readResponse(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    int state = 0;
    while (state < 4 && (c = in.read()) >= 0) {
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    String head = b.toString(StandardCharsets.US_ASCII);
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return head + new String(in.readNBytes(length), StandardCharsets.US_ASCII);
  }

  /** The RFC 6455 section 1.3 sample key; its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=. */
  static final String KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

  /** An upgrade of /demo on a fresh connection with the given header lines; the answer. */
  static String upgrade(Socket s, String... headers) throws IOException {
    return http(s, "GET /demo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" + String.join("", headers) + "\r\n");
  }

  static Socket socket() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.wsPort), 5_000);
    s.setSoTimeout(5_000);
    return s;
  }

  @Test
  void plainHttpGets404SayingWhereToGoAndKeepsTheConnection() throws IOException {
    try (Socket s = socket()) {
      for (int i = 0; i < 2; i++) {
        String res = http(s, "GET /demo HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(res.startsWith("HTTP/1.1 404"), res);
        assertTrue(res.endsWith("WebRocket: open a WebSocket on /VHOST\n"), res);
      }
    }
  }

  @Test
  void anotherWebSocketVersionGets426NamingVersion13() throws IOException {
    try (Socket s = socket()) {
      String res = upgrade(s, "Connection: Upgrade\r\n", KEY, "Sec-WebSocket-Version: 8\r\n");
      assertTrue(res.startsWith("HTTP/1.1 426"), res);
      assertTrue(res.toLowerCase().contains("sec-websocket-version: 13"), res);
    }
  }

  @Test
  void anUpgradeWithoutKeyGets400() throws IOException {
    try (Socket s = socket()) {
      String res = upgrade(s, "Connection: Upgrade\r\n", "Sec-WebSocket-Version: 13\r\n");
      assertTrue(res.startsWith("HTTP/1.1 400"), res);
    }
  }

  @Test
  void theVhostIsThePathWithoutTheQuery() throws IOException {
    try (RawWs ws = RawWs.connect(node.wsPort, "/demo?client=js", null, 0)) {
      assertEquals(101, ws.status);
    }
    assertEquals(404, RawWs.handshakeStatus(node.wsPort, "/nope?x=/demo", null));
  }

  @Test
  void aConnectionThatNeverUpgradesIsClosedAfterTheHandshakeTimeout() throws IOException {
    try (Socket s = socket()) {
      s.getOutputStream().write("GET /demo HTTP/1.1\r\nHost:".getBytes(StandardCharsets.US_ASCII));
      long t0 = System.nanoTime();
      assertEquals(-1, s.getInputStream().read(), "closed without an answer");
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 300 && ms < 3_000, "closed after " + ms + " ms");
    }
  }

  @Test
  void anUpgradedConnectionOutlivesTheHandshakeTimeout() throws Exception {
    try (RawWs ws = open()) {
      Await.pause(800); // past the handshake timeout
      ws.sendText("{\"subscribe\":{\"channel\":\"nope\"}}");
      assertTrue(ws.readText().contains("454"), "still served");
    }
  }

  @Test
  void aPingIsAnsweredWithAPongCarryingItsPayload() throws IOException {
    try (RawWs ws = open()) {
      ws.sendRaw(RawWs.frame(9, "hello?".getBytes(StandardCharsets.UTF_8)));
      RawWs.Frame pong = ws.readFrame();
      assertEquals(10, pong.opcode());
      assertEquals("hello?", pong.text());
    }
  }

  @Test
  void aMessageInFragmentsIsOneMessage() throws IOException {
    try (RawWs ws = open()) {
      byte[] all = "{\"subscribe\":{\"channel\":\"nope\"}}".getBytes(StandardCharsets.UTF_8);
      ws.sendRaw(RawWs.frame(false, 1, java.util.Arrays.copyOfRange(all, 0, 5)));
      ws.sendRaw(RawWs.frame(9, new byte[0])); // a control frame may come between fragments
      ws.sendRaw(RawWs.frame(false, 0, java.util.Arrays.copyOfRange(all, 5, 20)));
      ws.sendRaw(RawWs.frame(true, 0, java.util.Arrays.copyOfRange(all, 20, all.length)));
      assertEquals(10, ws.readFrame().opcode());
      assertTrue(ws.readText().contains("454"), "the joined message was read");
    }
  }

  @Test
  void fragmentsAddingUpToMoreThanTheLimitClose1009() throws IOException {
    try (RawWs ws = open()) {
      byte[] part = new byte[600];
      java.util.Arrays.fill(part, (byte) 'a');
      ws.sendRaw(RawWs.frame(false, 1, part));
      ws.sendRaw(RawWs.frame(true, 0, part));
      assertEquals(1009, ws.awaitClose());
    }
  }

  @Test
  void thePeersCloseIsAnsweredWithItsStatusAndTheConnectionEnds() throws IOException {
    try (RawWs ws = open()) {
      ws.sendRaw(RawWs.frame(8, new byte[] {0x0f, (byte) 0xa0, 'b', 'y', 'e'})); // 4000 "bye"
      RawWs.Frame close = ws.readFrame();
      assertEquals(8, close.opcode());
      assertEquals(4000, close.closeStatus());
      assertEquals(-1, ws.socket.getInputStream().read(), "then the server ends the connection");
    }
  }

  @Test
  void aCloseWithoutStatusIsAnsweredWithoutStatus() throws IOException {
    try (RawWs ws = open()) {
      ws.sendRaw(RawWs.frame(8, new byte[0]));
      RawWs.Frame close = ws.readFrame();
      assertEquals(8, close.opcode());
      assertEquals(-1, close.closeStatus());
    }
  }

  @Test
  void theWwfpCloseEventEndsWithClose1000AfterClosed() throws IOException {
    try (RawWs ws = open()) {
      ws.sendText("{\"close\":{}}");
      assertTrue(ws.readText().startsWith("{\":closed\""));
      RawWs.Frame close = ws.readFrame();
      assertEquals(1000, close.closeStatus());
      ws.sendRaw(RawWs.frame(8, new byte[] {0x03, (byte) 0xe8}));
      assertEquals(-1, ws.socket.getInputStream().read(), "ended once the close is answered");
    }
  }

  @Test
  void connectionsOnBothInstancesGetEveryBroadcast() throws Exception {
    // Sockets land on either instance (the kernel picks the listener); every subscriber gets it.
    node.openChannel("/demo", "spread");
    java.util.List<io.webrocket.test.WsClient> subs = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 12; i++) {
        io.webrocket.test.WsClient c = node.ws("/demo");
        c.subscribe("spread");
        subs.add(c);
      }
      subs.get(0).send("broadcast", new JsonObject().put("channel", "spread").put("event", "hi").put("data", new JsonObject()));
      for (io.webrocket.test.WsClient c : subs) {
        assertEquals("spread", c.expect("hi").getString("channel"));
      }
    } finally {
      for (io.webrocket.test.WsClient c : subs) {
        c.close();
      }
    }
  }

  @Test
  void aSecondNodeOnTheSamePortRefusesToStart() {
    // Instances share the port with SO_REUSEPORT; another broker must not quietly share it too.
    Throwable e = assertThrows(Throwable.class, () -> TestNode.start(new JsonObject()
        .put("websocket", new JsonObject().put("port", node.wsPort).put("instances", 2))));
    Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
    while (cause.getCause() != null && !(cause instanceof BindException)) {
      cause = cause.getCause();
    }
    assertInstanceOf(BindException.class, cause, e.toString());
  }

  /** Each transport the setting names serves the same protocol (the test machine has both). */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"nio", "epoll"})
  void everyTransportServesBrowsersAndBackends(String transport) {
    try (TestNode n = TestNode.start(new JsonObject().put("transport", transport)
        .put("websocket", new JsonObject().put("instances", 2)))) {
      assertTrue(n.node.banner().contains("transport: " + transport), n.node.banner());
      n.createVhost("/t");
      n.openChannel("/t", "c");
      try (io.webrocket.test.WsClient a = n.ws("/t"); io.webrocket.test.WsClient b = n.ws("/t")) {
        a.subscribe("c");
        b.subscribe("c");
        a.send("broadcast", new JsonObject().put("channel", "c").put("event", "e").put("data", new JsonObject().put("n", 1)));
        assertEquals(1, b.expect("e").getInteger("n"));
        assertEquals(1, a.expect("e").getInteger("n"));
      }
    }
  }

  @Test
  void anUpgradeWithoutConnectionUpgradeGets400() throws IOException {
    try (Socket s = socket()) {
      String res = upgrade(s, KEY, "Sec-WebSocket-Version: 13\r\n");
      assertTrue(res.startsWith("HTTP/1.1 400"), res);
    }
  }

  @Test
  void theAcceptKeyIsRfc6455sAndConnectedFollowsThe101() throws IOException {
    try (Socket s = socket()) {
      // The key and accept value of RFC 6455 section 1.3.
      String res = upgrade(s, "Connection: keep-alive, Upgrade\r\n", KEY, "Sec-WebSocket-Version: 13\r\n");
      assertTrue(res.startsWith("HTTP/1.1 101"), res);
      assertTrue(res.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
          || res.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), res);
      InputStream in = s.getInputStream();
      assertEquals(0x81, in.read(), "then a text frame");
      int len = in.read();
      String first = new String(in.readNBytes(len), StandardCharsets.UTF_8);
      assertTrue(first.startsWith("{\":connected\""), first);
    }
  }

  @Test
  void aDeletedVhostRefusesHandshakesEvenAfterItWasServed() throws IOException {
    node.createVhost("/gone");
    // Several sockets, so that both instances (the kernel spreads them) have seen it exist.
    java.util.List<RawWs> served = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) {
        served.add(RawWs.connect(node.wsPort, "/gone", null, 0));
        assertEquals(101, served.get(i).status);
      }
      node.admin().call("DELETE", "/gone");
      for (RawWs ws : served) {
        assertEquals(1000, ws.awaitClose(), "its sockets are closed");
      }
    } finally {
      served.forEach(RawWs::close);
    }
    for (int i = 0; i < 8; i++) {
      assertEquals(404, RawWs.handshakeStatus(node.wsPort, "/gone", null));
    }
  }
}
