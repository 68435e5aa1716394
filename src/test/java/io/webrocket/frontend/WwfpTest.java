package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.frontend.Broker.Vhost;
import io.webrocket.test.RawWs;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * WWFP (protocol/WWFP.md) over real sockets: one test per rule, named after it. One node for
 * the class; every test makes its own vhost. Liveness and token expiry, which need short
 * timers, are in {@link WwfpTimersTest}; presence in detail in {@link PresenceTest}.
 */
class WwfpTest {
  /** A vhost declared by configuration, with a nested path and a configured channel. */
  private static final String NESTED = "/nested/deep_er-1";
  private static final int MAX_FRAME = 65536;
  private static final int QUIET_MS = 250;

  static final Map<Integer, String> STATUS = Map.of(
      400, "Bad request",
      402, "Unauthorized",
      403, "Forbidden",
      451, "Invalid channel name",
      453, "Not subscribed",
      454, "Channel not found",
      503, "Service unavailable");

  // The rate limit (429) has its own tests; here it must not mask the protocol's answers.
  @RegisterExtension
  static final Broker broker = new Broker(new JsonObject()
      .put("websocket", new JsonObject().put("maxFrameSize", MAX_FRAME))
      .put("limits", new JsonObject().put("messagesPerSecond", 1_000_000).put("messagesBurst", 1_000_000))
      .put("vhosts", new JsonObject().put(NESTED, new JsonObject().put("channels", new JsonArray().add("chat")))));

  // ---- helpers ----

  static JsonObject o(Object... keysAndValues) {
    JsonObject j = new JsonObject();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      j.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return j;
  }

  /** Expects exactly {@code {":error": {"code": N, "status": "text"}}}. */
  static void error(WsClient c, int code) {
    assertEquals(o("code", code, "status", STATUS.get(code)), c.expect(":error"));
  }

  /** The connection is open and still answers requests. */
  static void stillServes(WsClient c) {
    assertFalse(c.isClosed(), "the connection was closed");
    c.send("subscribe", o("channel", "never-opened"));
    error(c, 454);
  }

  // ---- endpoint ----

  @Test
  void connectedIsTheFirstMessageWithAFreshUuidSid() {
    Vhost v = broker.vhost();
    RawWs raw = broker.raw(v.path());
    assertEquals(101, raw.status);
    JsonObject connected = raw.expect(":connected");
    assertEquals(Set.of("sid"), connected.fieldNames());
    String sid = connected.getString("sid");
    assertEquals(36, sid.length());
    assertEquals(sid, UUID.fromString(sid).toString());

    WsClient a = broker.ws(v);
    WsClient b = broker.ws(v);
    assertEquals(36, a.sid.length());
    assertNotEquals(a.sid, b.sid);
    assertNotEquals(sid, a.sid);
  }

  @Test
  void unknownVhostUpgradeIsRefusedWith404() {
    try (RawWs raw = RawWs.connect(broker.node.wsPort, "/no-such-vhost")) {
      assertEquals(404, raw.status);
    }
  }

  @Test
  void invalidVhostPathUpgradeIsRefusedWith404() {
    Vhost v = broker.vhost();
    for (String path : List.of("/", v.path() + "/", "/" + v.path(), v.path() + ".x", v.path() + "/a//b",
        "/v%C3%A9", v.path() + "%20")) {
      try (RawWs raw = RawWs.connect(broker.node.wsPort, path)) {
        assertEquals(404, raw.status, path);
      }
    }
  }

  @Test
  void nestedVhostPathIsAnEndpoint() {
    WsClient c = broker.track(broker.node.ws(NESTED));
    assertEquals(o("channel", "chat"), c.subscribe("chat"));
  }

  @Test
  void vhostsAreSeparate() {
    Vhost v1 = broker.vhost("chat");
    Vhost v2 = broker.vhost("chat");
    WsClient a = broker.ws(v1);
    WsClient b = broker.ws(v2);
    a.subscribe("chat");
    b.subscribe("chat");
    a.send("broadcast", o("channel", "chat", "event", "hi"));
    a.expect("hi");
    broker.backendBroadcast(v1, "chat", "hi", o());
    a.expect("hi");
    b.expectSilence(QUIET_MS);
  }

  // ---- message shape ----

  @Test
  void notJsonIs400AndStaysOpen() {
    WsClient c = broker.ws(broker.vhost());
    for (String text : List.of("", "hello", "{", "{\"subscribe\":{}", "{'subscribe':{}}", "{subscribe:{}}",
        "{\"pong\":{}} x", "{\"pong\":{}}{\"pong\":{}}", "/* */{\"pong\":{}}", "{\"pong\":{\"n\":NaN}}")) {
      c.send(text);
      error(c, 400);
    }
    stillServes(c);
  }

  @Test
  void notAnObjectIs400() {
    WsClient c = broker.ws(broker.vhost());
    for (String text : List.of("[]", "[{\"pong\":{}}]", "\"pong\"", "42", "null", "true")) {
      c.send(text);
      error(c, 400);
    }
    stillServes(c);
  }

  @Test
  void zeroKeysIs400() {
    WsClient c = broker.ws(broker.vhost());
    c.send("{}");
    error(c, 400);
    stillServes(c);
  }

  @Test
  void twoKeysIs400() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.send("{\"pong\":{},\"subscribe\":{\"channel\":\"chat\"}}");
    error(c, 400);
    c.send("{\"subscribe\":{\"channel\":\"chat\"},\"pong\":{}}");
    error(c, 400);
    c.expectSilence(QUIET_MS); // and neither request was carried out
    stillServes(c);
  }

  @Test
  void payloadNotObjectIs400() {
    WsClient c = broker.ws(broker.vhost());
    for (String payload : List.of("\"chat\"", "[]", "1", "null", "true")) {
      c.send("{\"subscribe\":" + payload + "}");
      error(c, 400);
      c.send("{\"pong\":" + payload + "}");
      error(c, 400);
    }
    stillServes(c);
  }

  @Test
  void duplicateKeysAre400() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.send("{\"subscribe\":{\"channel\":\"chat\"},\"subscribe\":{\"channel\":\"chat\"}}");
    error(c, 400);
    c.send("{\"subscribe\":{\"channel\":\"chat\",\"channel\":\"chat\"}}");
    error(c, 400);
    c.send("{\"subscribe\":{\"channel\":\"chat\",\"data\":{\"a\":1,\"a\":2}}}");
    error(c, 400);
    c.expectSilence(QUIET_MS);
    stillServes(c);
  }

  @Test
  void binaryFrameGets400AndStaysOpen() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.sendBinary(Buffer.buffer("{\"subscribe\":{\"channel\":\"chat\"}}"));
    error(c, 400);
    c.expectSilence(QUIET_MS);
    stillServes(c);
  }

  @Test
  void fragmentedMessageIsReassembled() {
    WsClient c = broker.ws(broker.vhost("chat"));
    var ws = c.socket();
    WsClient.await(ws.writeFrame(WebSocketFrame.textFrame("{\"subscribe\":", false)));
    WsClient.await(ws.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer("{\"channel\""), false)));
    WsClient.await(ws.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer(":\"chat\"}}"), true)));
    assertEquals(o("channel", "chat"), c.expect(":subscribed"));
    c.expectSilence(QUIET_MS);
  }

  @Test
  void fragmentedBinaryMessageGetsOne400() {
    WsClient c = broker.ws(broker.vhost());
    var ws = c.socket();
    WsClient.await(ws.writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer("{\"pong\""), false)));
    WsClient.await(ws.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer(":{}}"), true)));
    error(c, 400);
    c.expectSilence(QUIET_MS);
    stillServes(c);
  }

  @Test
  void frameAtTheLimitIsAccepted() {
    WsClient c = broker.ws(broker.vhost());
    c.send(sized(MAX_FRAME));
    c.expectSilence(QUIET_MS); // a pong: accepted, no reply
    stillServes(c);
  }

  @Test
  void frameOverLimitClosesWith1009() {
    Vhost v = broker.vhost("chat");
    WsClient bystander = broker.ws(v);
    bystander.subscribe("chat");
    WsClient c = broker.ws(v);
    c.socket().writeTextMessage(sized(MAX_FRAME + 1));
    assertEquals((short) 1009, c.awaitClose());
    // Only that socket: the other client is served as before.
    broker.backendBroadcast(v, "chat", "still", o());
    assertEquals(o("channel", "chat"), bystander.expect("still"));
  }

  /** A pong message of exactly {@code bytes} bytes. */
  private static String sized(int bytes) {
    String head = "{\"pong\":{\"pad\":\"";
    String tail = "\"}}";
    return head + "x".repeat(bytes - head.length() - tail.length()) + tail;
  }

  // ---- system events ----

  @Test
  void authenticatedPayloadIsEmptyOrUid() {
    Vhost v = broker.vhost();
    WsClient c = broker.ws(v);
    c.send("auth", o("token", broker.token(v, "alice", ".*")));
    JsonObject p = c.expect(":authenticated");
    assertTrue(p.isEmpty() || p.equals(o("uid", "alice")), "payload " + p);
  }

  @Test
  void subscribedToOpenChannelCarriesOnlyChannel() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.send("subscribe", o("channel", "chat", "data", o("x", 1), "hidden", true));
    assertEquals(o("channel", "chat"), c.expect(":subscribed"));
  }

  @Test
  void subscribedToPrivateChannelCarriesUid() {
    Vhost v = broker.vhost("private-room");
    WsClient c = broker.ws(v, "alice", "private-room");
    assertEquals(o("channel", "private-room", "uid", "alice"), c.subscribe("private-room"));
  }

  @Test
  void subscribedToPresenceChannelCarriesUidAndSubscribers() {
    Vhost v = broker.vhost("presence-room");
    WsClient a = broker.ws(v, "alice", "presence-room");
    assertEquals(o("channel", "presence-room", "uid", "alice", "subscribers", new JsonArray()),
        a.subscribe("presence-room"));
    a.expect(":memberJoined");
    WsClient b = broker.ws(v, "bob", "presence-room");
    assertEquals(o("channel", "presence-room", "uid", "bob", "subscribers", new JsonArray().add(o("uid", "alice"))),
        b.subscribe("presence-room"));
  }

  @Test
  void unsubscribedCarriesChannel() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.subscribe("chat");
    c.send("unsubscribe", o("channel", "chat"));
    assertEquals(o("channel", "chat"), c.expect(":unsubscribed"));
  }

  @Test
  void closeRepliesClosedThenCloses() {
    Vhost v = broker.vhost("chat");
    RawWs raw = broker.raw(v.path());
    String sid = raw.expect(":connected").getString("sid");
    raw.send("subscribe", o("channel", "chat"));
    raw.expect(":subscribed");
    raw.send("close", o());
    assertEquals(o("sid", sid), raw.expect(":closed"));
    RawWs.Frame f = raw.nextFrame();
    assertTrue(f == null || f.opcode() == RawWs.OP_CLOSE, "after :closed only the close: " + f);

    WsClient c = broker.ws(v);
    c.send("close", o("reason", "done"));
    assertEquals(o("sid", c.sid), c.expect(":closed"));
    c.awaitClose();
    c.expectSilence(100);
    awaitSubscribers(v, "chat", 0);
  }

  @Test
  void errorCarriesCodeAndStatusText() {
    Vhost v = broker.vhost("chat", "other", "private-x");
    WsClient c = broker.ws(v);
    c.send("nope", o());
    error(c, 400);
    c.send("auth", o("token", "0".repeat(128)));
    error(c, 402);
    c.send("subscribe", o("channel", "private-x"));
    error(c, 403);
    c.send("subscribe", o("channel", "no good"));
    error(c, 451);
    c.send("unsubscribe", o("channel", "other"));
    error(c, 453);
    c.send("subscribe", o("channel", "nope"));
    error(c, 454);
    WsClient d = broker.ws(v, "u", ".*");
    d.send("trigger", o("event", "work"));
    error(d, 503);
  }

  @Test
  void successStatusesAreNeverSent() {
    Vhost v = broker.vhost("chat");
    broker.worker(v);
    WsClient c = broker.ws(v);
    c.auth(broker.token(v, "u", ".*"));
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "e"));
    c.expect("e");
    c.send("trigger", o("event", "t"));
    c.send("pong", o());
    c.send("unsubscribe", o("channel", "chat"));
    c.expect(":unsubscribed");
    c.send("close", o());
    c.expect(":closed");
    c.awaitClose();
    c.expectSilence(100);
  }

  // ---- user events ----

  @Test
  void backendBroadcastCarriesChannel() {
    Vhost v = broker.vhost("chat");
    WsClient a = broker.ws(v);
    a.subscribe("chat");
    broker.backendBroadcast(v, "chat", "message", o("text", "hi", "channel", "spoofed", "sid", "kept"));
    assertEquals(o("text", "hi", "channel", "chat", "sid", "kept"), a.expect("message"));
  }

  @Test
  void broadcastFromBrowserCarriesChannelAndSid() {
    Vhost v = broker.vhost("chat");
    WsClient sender = broker.ws(v);
    WsClient other = broker.ws(v);
    sender.subscribe("chat");
    other.subscribe("chat");
    sender.send("broadcast", o("channel", "chat", "event", "message", "data", o("text", "hi", "n", 1)));
    JsonObject expected = o("text", "hi", "n", 1, "channel", "chat", "sid", sender.sid);
    assertEquals(expected, other.expect("message"));
    assertEquals(expected, sender.expect("message")); // the sender included
    sender.expectSilence(QUIET_MS); // and no other reply
  }

  @Test
  void broadcastWithoutDataCarriesChannelAndSidOnly() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v);
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "ping"));
    assertEquals(o("channel", "chat", "sid", c.sid), c.expect("ping"));
  }

  @Test
  void channelAndSidOverwriteDataKeys() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v);
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "e", "data", o("channel", "fake", "sid", "fake", "x", 1)));
    assertEquals(o("channel", "chat", "sid", c.sid, "x", 1), c.expect("e"));
  }

  @Test
  void broadcastReachesEverySubscriberAndNoOneElse() {
    Vhost v = broker.vhost("chat", "other");
    WsClient sender = broker.ws(v);
    WsClient a = broker.ws(v);
    WsClient b = broker.ws(v);
    WsClient elsewhere = broker.ws(v);
    WsClient nowhere = broker.ws(v);
    sender.subscribe("chat");
    a.subscribe("chat");
    b.subscribe("chat");
    elsewhere.subscribe("other");
    sender.send("broadcast", o("channel", "chat", "event", "e", "data", o("n", 1)));
    for (WsClient c : List.of(sender, a, b)) {
      assertEquals(1, c.expect("e").getInteger("n"));
    }
    broker.backendBroadcast(v, "chat", "f", o());
    for (WsClient c : List.of(sender, a, b)) {
      c.expect("f");
    }
    elsewhere.expectSilence(QUIET_MS);
    nowhere.expectSilence(0);
  }

  @Test
  void perSenderOrderIsKept() {
    Vhost v = broker.vhost("chat");
    int n = 100;
    WsClient sender = broker.ws(v);
    WsClient r1 = broker.ws(v);
    WsClient r2 = broker.ws(v);
    for (WsClient c : List.of(sender, r1, r2)) {
      c.subscribe("chat");
    }
    WbpClient backend = broker.wbp();
    assertEquals(List.of("OK", ""), backend.request(v.req(), "KA"));
    StringBuilder pipelined = new StringBuilder();
    for (int i = 0; i < n; i++) {
      pipelined.append(WbpClient.message(null, "BC", "chat", "fromBackend", o("n", i).encode()));
    }
    backend.write(pipelined.toString()); // all at once; the browser sends meanwhile
    for (int i = 0; i < n; i++) {
      sender.send("broadcast", o("channel", "chat", "event", "fromBrowser", "data", o("n", i)));
    }
    for (int i = 0; i < n; i++) {
      assertEquals(List.of("OK", ""), backend.read());
    }
    for (WsClient c : List.of(sender, r1, r2)) {
      int nextBrowser = 0;
      int nextBackend = 0;
      for (int i = 0; i < 2 * n; i++) {
        JsonObject m = c.next();
        if (m.containsKey("fromBrowser")) {
          assertEquals(nextBrowser++, m.getJsonObject("fromBrowser").getInteger("n"));
        } else {
          assertEquals(nextBackend++, m.getJsonObject("fromBackend").getInteger("n"), "got " + m);
        }
      }
      assertEquals(n, nextBrowser);
      assertEquals(n, nextBackend);
    }
  }

  @Test
  void hiddenSubscriberReceivesBroadcastsButIsNotListed() {
    Vhost v = broker.vhost("presence-room");
    WsClient hidden = broker.ws(v, "ghost", "presence-.*");
    hidden.send("subscribe", o("channel", "presence-room", "hidden", true));
    assertEquals(new JsonArray(), hidden.expect(":subscribed").getJsonArray("subscribers"));
    hidden.expectSilence(QUIET_MS); // not even its own :memberJoined
    WsClient seen = broker.ws(v, "alice", "presence-.*");
    assertEquals(new JsonArray(), seen.subscribe("presence-room").getJsonArray("subscribers"));
    seen.expect(":memberJoined");
    hidden.expect(":memberJoined"); // it is on the channel
    broker.backendBroadcast(v, "presence-room", "news", o("n", 1));
    assertEquals(o("n", 1, "channel", "presence-room"), hidden.expect("news"));
    seen.expect("news");
    seen.send("broadcast", o("channel", "presence-room", "event", "hello"));
    assertEquals(o("channel", "presence-room", "sid", seen.sid), hidden.expect("hello"));
    seen.expect("hello");
  }

  // ---- auth ----

  @Test
  void authWithoutValidTokenFieldIs400() {
    WsClient c = broker.ws(broker.vhost());
    for (JsonObject p : List.of(o(), o("token", 5), o("token", ""), o("token", new JsonArray().add("x")),
        o("token", o()), o("token", true), o("tokens", "abc"))) {
      c.send("auth", p);
      error(c, 400);
    }
    stillServes(c);
  }

  @Test
  void unknownTokenIs402() {
    Vhost v = broker.vhost();
    WsClient c = broker.ws(v);
    c.send("auth", o("token", "deadbeef"));
    error(c, 402);
    String real = broker.token(v, "u", ".*");
    c.send("auth", o("token", real.substring(0, 127) + (real.endsWith("0") ? "1" : "0")));
    error(c, 402);
    stillServes(c);
  }

  @Test
  void usedTokenIs402() {
    Vhost v = broker.vhost();
    String token = broker.token(v, "u", ".*");
    WsClient first = broker.ws(v);
    first.auth(token);
    WsClient second = broker.ws(v);
    second.send("auth", o("token", token));
    error(second, 402);
    first.send("auth", o("token", token));
    error(first, 402);
  }

  @Test
  void tokenOfAnotherVhostIs402() {
    Vhost v1 = broker.vhost();
    Vhost v2 = broker.vhost();
    WsClient c = broker.ws(v2);
    c.send("auth", o("token", broker.token(v1, "u", ".*")));
    error(c, 402);
  }

  @Test
  void authBindsUidAndPermissionToTheConnection() {
    Vhost v = broker.vhost("private-a", "private-b");
    WsClient c = broker.ws(v);
    c.send("subscribe", o("channel", "private-a"));
    error(c, 403);
    c.auth(broker.token(v, "alice", "private-a"));
    assertEquals(o("channel", "private-a", "uid", "alice"), c.subscribe("private-a"));
    c.send("subscribe", o("channel", "private-b"));
    error(c, 403);
    // The binding belongs to the connection that used the token, not to the vhost.
    WsClient other = broker.ws(v);
    other.send("subscribe", o("channel", "private-a"));
    error(other, 403);
  }

  @Test
  void reauthDropsSubscriptions() {
    Vhost v = broker.vhost("chat", "private-a", "private-b", "presence-p");
    WsClient watcher = broker.ws(v, "watcher", ".*");
    watcher.subscribe("presence-p");
    watcher.expect(":memberJoined");
    watcher.subscribe("chat");
    WsClient c = broker.ws(v, "first", ".*");
    c.subscribe("chat");
    c.subscribe("private-a");
    c.subscribe("presence-p");
    c.expect(":memberJoined");
    assertEquals("first", watcher.expect(":memberJoined").getString("uid"));

    c.auth(broker.token(v, "second", "private-b|presence-p"));
    assertEquals(o("uid", "first", "channel", "presence-p"), watcher.expect(":memberLeft"));
    c.expectSilence(QUIET_MS); // no :unsubscribed, no :memberLeft to itself
    broker.backendBroadcast(v, "chat", "news", o());
    broker.backendBroadcast(v, "private-a", "news", o());
    watcher.expect("news");
    c.expectSilence(QUIET_MS);
    c.send("broadcast", o("channel", "chat", "event", "e"));
    error(c, 453);
    c.send("unsubscribe", o("channel", "private-a"));
    error(c, 453);
    // The new identity applies: its uid and permission.
    c.send("subscribe", o("channel", "private-a"));
    error(c, 403);
    assertEquals(o("channel", "private-b", "uid", "second"), c.subscribe("private-b"));
    assertEquals(new JsonArray().add(o("uid", "watcher")), c.subscribe("presence-p").getJsonArray("subscribers"));
  }

  @Test
  void reauthDropsSubscriptionsEvenWhenTheNewTokenIsRefused() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v, "first", ".*");
    c.subscribe("chat");
    c.send("auth", o("token", "0".repeat(128)));
    error(c, 402);
    broker.backendBroadcast(v, "chat", "news", o());
    c.expectSilence(QUIET_MS);
    c.send("broadcast", o("channel", "chat", "event", "e"));
    error(c, 453);
  }

  // ---- permission ----

  @Test
  void permissionRegexIsMatchedAgainstTheWholeName() {
    Vhost v = broker.vhost("private-a", "private-ab", "private-b", "presence-b", "presence-bc", "private-xprivate-a");
    WsClient c = broker.ws(v, "u", "private-a|presence-b");
    assertEquals("private-a", c.subscribe("private-a").getString("channel"));
    assertEquals("presence-b", c.subscribe("presence-b").getString("channel"));
    c.expect(":memberJoined");
    for (String denied : List.of("private-ab", "private-b", "presence-bc", "private-xprivate-a")) {
      c.send("subscribe", o("channel", denied));
      error(c, 403);
    }
    WsClient prefix = broker.ws(v, "u", "private");
    prefix.send("subscribe", o("channel", "private-a"));
    error(prefix, 403);
  }

  @Test
  void privateChannelNeedsAMatchingPermission() {
    Vhost v = broker.vhost("private-a", "presence-a");
    WsClient c = broker.ws(v, "u", "something-else");
    c.send("subscribe", o("channel", "private-a"));
    error(c, 403);
    c.send("subscribe", o("channel", "presence-a"));
    error(c, 403);
  }

  // ---- subscribe ----

  @Test
  void subscribeWithoutChannelIs400() {
    WsClient c = broker.ws(broker.vhost("chat"));
    for (JsonObject p : List.of(o(), o("channel", 5), o("channel", new JsonArray().add("chat")), o("channel", o()),
        o("name", "chat"), o("channel", "chat", "data", "x"), o("channel", "chat", "data", new JsonArray()),
        o("channel", "chat", "hidden", "yes"), o("channel", "chat", "hidden", 1))) {
      c.send("subscribe", p);
      error(c, 400);
    }
    stillServes(c);
  }

  @Test
  void subscribeWithInvalidChannelNameIs451() {
    WsClient c = broker.ws(broker.vhost());
    for (String name : invalidChannelNames()) {
      c.send("subscribe", o("channel", name));
      error(c, 451);
    }
  }

  @Test
  void subscribeToUnopenedChannelIs454() {
    WsClient c = broker.ws(broker.vhost());
    c.send("subscribe", o("channel", "chat"));
    error(c, 454);
  }

  @Test
  void subscribeToPrivateChannelWithoutAuthIsForbidden() {
    WsClient c = broker.ws(broker.vhost("private-room"));
    c.send("subscribe", o("channel", "private-room"));
    error(c, 403);
  }

  @Test
  void subscribeToPresenceChannelWithoutAuthIsForbidden() {
    WsClient c = broker.ws(broker.vhost("presence-room"));
    c.send("subscribe", o("channel", "presence-room"));
    error(c, 403);
  }

  @Test
  void subscribeChecksAre400Then451Then403Then454() {
    Vhost v = broker.vhost("private-a");
    WsClient c = broker.ws(v);
    c.send("subscribe", o("channel", "private-bad name", "data", 5)); // all four apply
    error(c, 400);
    c.send("subscribe", o("channel", "private-bad name")); // 451, 403, 454 apply
    error(c, 451);
    // 403 before 454: a stranger to a private channel must not learn whether it exists.
    c.send("subscribe", o("channel", "private-nope"));
    error(c, 403);
    c.send("subscribe", o("channel", "private-a"));
    error(c, 403);
    WsClient allowed = broker.ws(v, "alice", "private-.*");
    allowed.send("subscribe", o("channel", "private-nope"));
    error(allowed, 454);
  }

  @Test
  void resubscribeSendsNoSecondMemberJoined() {
    Vhost v = broker.vhost("presence-room", "chat");
    WsClient a = broker.ws(v, "alice", ".*");
    WsClient b = broker.ws(v, "bob", ".*");
    a.send("subscribe", o("channel", "presence-room", "data", o("mood", "happy")));
    a.expect(":subscribed");
    a.expect(":memberJoined");
    b.subscribe("presence-room");
    b.expect(":memberJoined");
    a.expect(":memberJoined");

    // The second subscribe is answered, changes nothing and announces nothing.
    b.send("subscribe", o("channel", "presence-room", "data", o("mood", "sad"), "hidden", true));
    assertEquals(o("channel", "presence-room", "uid", "bob",
        "subscribers", new JsonArray().add(o("uid", "alice", "mood", "happy"))), b.expect(":subscribed"));
    b.expectSilence(QUIET_MS);
    a.expectSilence(0);
    WsClient c = broker.ws(v, "carol", ".*");
    assertEquals(new JsonArray().add(o("uid", "alice", "mood", "happy")).add(o("uid", "bob")),
        c.subscribe("presence-room").getJsonArray("subscribers"));
    c.expect(":memberJoined");
    a.expect(":memberJoined");
    b.expect(":memberJoined");

    // On an open channel: still one delivery per broadcast.
    a.subscribe("chat");
    a.subscribe("chat");
    broker.backendBroadcast(v, "chat", "once", o());
    a.expect("once");
    a.expectSilence(QUIET_MS);
  }

  // ---- unsubscribe ----

  @Test
  void unsubscribeStopsDelivery() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v);
    WsClient stays = broker.ws(v);
    c.subscribe("chat");
    stays.subscribe("chat");
    c.send("unsubscribe", o("channel", "chat", "data", o("bye", true)));
    assertEquals(o("channel", "chat"), c.expect(":unsubscribed"));
    broker.backendBroadcast(v, "chat", "after", o());
    stays.expect("after");
    c.expectSilence(QUIET_MS);
  }

  @Test
  void unsubscribeWithoutChannelIs400() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.subscribe("chat");
    for (JsonObject p : List.of(o(), o("channel", 5), o("name", "chat"), o("channel", "chat", "data", "x"),
        o("channel", "chat", "data", new JsonArray()))) {
      c.send("unsubscribe", p);
      error(c, 400);
    }
    c.send("unsubscribe", o("channel", "chat"));
    c.expect(":unsubscribed"); // the bad requests left the subscription alone
  }

  @Test
  void unsubscribeWithInvalidChannelNameIs451() {
    WsClient c = broker.ws(broker.vhost());
    for (String name : invalidChannelNames()) {
      c.send("unsubscribe", o("channel", name));
      error(c, 451);
    }
  }

  @Test
  void unsubscribeFromUnopenedChannelIs454() {
    WsClient c = broker.ws(broker.vhost());
    c.send("unsubscribe", o("channel", "chat"));
    error(c, 454);
  }

  @Test
  void unsubscribeWhenNotSubscribedIs453() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.send("unsubscribe", o("channel", "chat"));
    error(c, 453);
    c.subscribe("chat");
    c.send("unsubscribe", o("channel", "chat"));
    c.expect(":unsubscribed");
    c.send("unsubscribe", o("channel", "chat"));
    error(c, 453);
  }

  @Test
  void unsubscribeChecksAre400Then451Then454Then453() {
    WsClient c = broker.ws(broker.vhost("chat"));
    c.send("unsubscribe", o("channel", "bad name", "data", 5));
    error(c, 400);
    c.send("unsubscribe", o("channel", "bad name"));
    error(c, 451);
    c.send("unsubscribe", o("channel", "nope"));
    error(c, 454);
    c.send("unsubscribe", o("channel", "chat"));
    error(c, 453);
  }

  // ---- broadcast ----

  @Test
  void broadcastWithoutChannelOrEventIs400() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v);
    c.subscribe("chat");
    for (JsonObject p : List.of(o(), o("channel", "chat"), o("event", "e"), o("channel", 5, "event", "e"),
        o("channel", "chat", "event", 5), o("channel", "chat", "event", ""),
        o("channel", "chat", "event", "e", "data", "x"), o("channel", "chat", "event", "e", "data", new JsonArray()),
        o("channel", "chat", "event", "e", "trigger", 5))) {
      c.send("broadcast", p);
      error(c, 400);
    }
    c.expectSilence(QUIET_MS); // nothing was broadcast
  }

  @Test
  void broadcastEventStartingWithColonIs400() {
    Vhost v = broker.vhost("chat");
    WsClient c = broker.ws(v);
    WsClient other = broker.ws(v);
    c.subscribe("chat");
    other.subscribe("chat");
    for (String event : List.of(":error", ":memberJoined", ":")) {
      c.send("broadcast", o("channel", "chat", "event", event, "data", o("code", 1)));
      error(c, 400);
    }
    other.expectSilence(QUIET_MS);
  }

  @Test
  void broadcastWithInvalidChannelNameIs451() {
    WsClient c = broker.ws(broker.vhost());
    for (String name : invalidChannelNames()) {
      c.send("broadcast", o("channel", name, "event", "e"));
      error(c, 451);
    }
  }

  @Test
  void broadcastToUnopenedChannelIs454() {
    WsClient c = broker.ws(broker.vhost());
    c.send("broadcast", o("channel", "chat", "event", "e"));
    error(c, 454);
  }

  @Test
  void broadcastWhenNotSubscribedIs453() {
    Vhost v = broker.vhost("chat");
    WsClient listener = broker.ws(v);
    listener.subscribe("chat");
    WsClient c = broker.ws(v);
    c.send("broadcast", o("channel", "chat", "event", "e"));
    error(c, 453);
    listener.expectSilence(QUIET_MS);
  }

  @Test
  void broadcastWithTriggerWithoutAuthIs403() {
    Vhost v = broker.vhost("chat");
    WbpClient worker = broker.worker(v);
    WsClient listener = broker.ws(v);
    listener.subscribe("chat");
    WsClient c = broker.ws(v);
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "e", "trigger", "work"));
    error(c, 403);
    listener.expectSilence(QUIET_MS); // refused as a whole: nothing broadcast
    Broker.expectNoTrigger(worker, QUIET_MS);
  }

  @Test
  void broadcastWithTriggerWithoutWorkerIs503() {
    Vhost v = broker.vhost("chat");
    WsClient listener = broker.ws(v);
    listener.subscribe("chat");
    WsClient c = broker.ws(v, "u", ".*");
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "e", "data", o("n", 1), "trigger", "work"));
    // The broadcast happens; only the trigger fails.
    JsonObject echo = o("e", o("n", 1, "channel", "chat", "sid", c.sid));
    JsonObject error = o(":error", o("code", 503, "status", "Service unavailable"));
    assertEquals(Set.of(echo, error), Set.of(c.next(), c.next()));
    assertEquals(echo.getJsonObject("e"), listener.expect("e"));
    listener.expectSilence(QUIET_MS);
  }

  @Test
  void broadcastWithTriggerReachesSubscribersAndOneWorker() {
    Vhost v = broker.vhost("chat");
    WbpClient worker = broker.worker(v);
    WsClient listener = broker.ws(v);
    listener.subscribe("chat");
    WsClient c = broker.ws(v, "u", ".*");
    c.subscribe("chat");
    c.send("broadcast", o("channel", "chat", "event", "e", "data", o("n", 1, "sid", "fake"), "trigger", "work"));
    JsonObject delivered = o("n", 1, "sid", c.sid, "channel", "chat");
    assertEquals(delivered, listener.expect("e"));
    assertEquals(delivered, c.expect("e"));
    assertEquals(o("work", o("n", 1, "sid", c.sid)), Broker.nextTrigger(worker));
    c.expectSilence(QUIET_MS);
  }

  @Test
  void broadcastChecksAre400Then451Then454Then453Then403Then503() {
    Vhost v = broker.vhost("chat", "other");
    WsClient c = broker.ws(v);
    c.subscribe("chat");
    c.send("broadcast", o("channel", "bad name", "trigger", "work")); // no event
    error(c, 400);
    c.send("broadcast", o("channel", "bad name", "event", "e", "trigger", "work"));
    error(c, 451);
    c.send("broadcast", o("channel", "nope", "event", "e", "trigger", "work"));
    error(c, 454);
    c.send("broadcast", o("channel", "other", "event", "e", "trigger", "work"));
    error(c, 453);
    c.send("broadcast", o("channel", "chat", "event", "e", "trigger", "work"));
    error(c, 403);
    c.expectSilence(QUIET_MS);
    WsClient d = broker.ws(v, "u", ".*");
    d.subscribe("chat");
    d.send("broadcast", o("channel", "chat", "event", "e", "trigger", "work"));
    List<JsonObject> got = List.of(d.next(), d.next());
    assertTrue(got.contains(o(":error", o("code", 503, "status", "Service unavailable"))), "got " + got);
  }

  // ---- trigger ----

  @Test
  void triggerReachesWorkerWithDataAndSid() {
    Vhost v = broker.vhost();
    WbpClient worker = broker.worker(v);
    WsClient c = broker.ws(v, "u", ".*");
    c.send("trigger", o("event", "work", "data", o("a", 1, "sid", "fake", "nested", o("b", new JsonArray().add(2)))));
    assertEquals(o("work", o("a", 1, "sid", c.sid, "nested", o("b", new JsonArray().add(2)))), Broker.nextTrigger(worker));
    c.send("trigger", o("event", "bare"));
    assertEquals(o("bare", o("sid", c.sid)), Broker.nextTrigger(worker));
    c.expectSilence(QUIET_MS); // no reply to a trigger
  }

  @Test
  void triggerWithoutEventIs400() {
    Vhost v = broker.vhost();
    WbpClient worker = broker.worker(v);
    WsClient c = broker.ws(v, "u", ".*");
    for (JsonObject p : List.of(o(), o("event", 5), o("event", ""), o("data", o()), o("event", "e", "data", "x"),
        o("event", "e", "data", new JsonArray()))) {
      c.send("trigger", p);
      error(c, 400);
    }
    Broker.expectNoTrigger(worker, QUIET_MS);
  }

  @Test
  void triggerWithoutAuthIs403() {
    Vhost v = broker.vhost();
    WbpClient worker = broker.worker(v);
    WsClient c = broker.ws(v);
    c.send("trigger", o("event", "work"));
    error(c, 403);
    Broker.expectNoTrigger(worker, QUIET_MS);
  }

  @Test
  void triggerWithoutWorkerIs503() {
    Vhost v = broker.vhost();
    WsClient c = broker.ws(v, "u", ".*");
    c.send("trigger", o("event", "work"));
    error(c, 503);
    stillServes(c);
  }

  @Test
  void triggerChecksAre400Then403Then503() {
    Vhost v = broker.vhost();
    WsClient c = broker.ws(v);
    c.send("trigger", o("data", o()));
    error(c, 400);
    c.send("trigger", o("event", "work"));
    error(c, 403);
    c.auth(broker.token(v, "u", ".*"));
    c.send("trigger", o("event", "work"));
    error(c, 503);
  }

  @Test
  void eachTriggerReachesExactlyOneWorker() {
    Vhost v = broker.vhost();
    WbpClient w1 = broker.worker(v);
    WbpClient w2 = broker.worker(v);
    WsClient c = broker.ws(v, "u", ".*");
    int n = 6;
    for (int i = 0; i < n; i++) {
      c.send("trigger", o("event", "work", "data", o("n", i)));
    }
    List<Integer> got1 = drainTriggers(w1);
    List<Integer> got2 = drainTriggers(w2);
    List<Integer> all = new ArrayList<>(got1);
    all.addAll(got2);
    assertEquals(n, all.size(), "w1 " + got1 + ", w2 " + got2);
    assertEquals(n, new HashSet<>(all).size(), "duplicates: w1 " + got1 + ", w2 " + got2);
    assertFalse(got1.isEmpty() || got2.isEmpty(), "load balanced: w1 " + got1 + ", w2 " + got2);
    c.expectSilence(0);
  }

  /** The {@code n} of every trigger a worker gets until it has been quiet a while. */
  private static List<Integer> drainTriggers(WbpClient worker) {
    List<Integer> got = new ArrayList<>();
    worker.setTimeout(300); // shorter than the broker's heartbeat interval
    try {
      while (true) {
        List<String> m = worker.read();
        if (m.get(0).equals("TR")) {
          got.add(new JsonObject(m.get(1)).getJsonObject("work").getInteger("n"));
        }
      }
    } catch (AssertionError quiet) {
      return got;
    } finally {
      worker.setTimeout(WbpClient.TIMEOUT_MS);
    }
  }

  // ---- pong, close, anything else ----

  @Test
  void pongIsAcceptedSilently() {
    WsClient c = broker.ws(broker.vhost());
    c.send("pong", o());
    c.send("pong", o("anything", new JsonArray().add(1), "nested", o("x", null)));
    c.expectSilence(QUIET_MS);
    stillServes(c);
  }

  @Test
  void unknownEventIs400() {
    WsClient c = broker.ws(broker.vhost("chat"));
    for (String event : List.of("nope", ":connected", ":subscribed", "Subscribe", "SUBSCRIBE", "", " subscribe",
        "ping", "authenticate")) {
      c.send(event, o("channel", "chat", "token", "x"));
      error(c, 400);
    }
    stillServes(c);
  }

  // ---- channels ----

  @Test
  void validChannelNamesAreAccepted() {
    List<String> names = List.of("a", "_", "9", "a.b-c_D", "_-.", "x".repeat(128), "private", "presence");
    Vhost v = broker.vhost(names.toArray(new String[0]));
    WsClient c = broker.ws(v);
    for (String name : names) {
      assertEquals(o("channel", name), c.subscribe(name));
    }
  }

  @Test
  void channelNameOver128CharactersIs451() {
    WsClient c = broker.ws(broker.vhost());
    c.send("subscribe", o("channel", "x".repeat(128)));
    error(c, 454); // a valid name, just not open
    c.send("subscribe", o("channel", "x".repeat(129)));
    error(c, 451);
    c.send("unsubscribe", o("channel", "x".repeat(129)));
    error(c, 451);
    c.send("broadcast", o("channel", "x".repeat(129), "event", "e"));
    error(c, 451);
  }

  @Test
  void channelTypeComesFromTheName() {
    List<String> open = List.of("private", "presence", "privatechat", "presencex", "Private-x", "PRESENCE-x",
        "x-private-y", "presence_x", "private.x");
    List<String> all = new ArrayList<>(open);
    all.add("private-x");
    all.add("presence-x");
    Vhost v = broker.vhost(all.toArray(new String[0]));
    WsClient anonymous = broker.ws(v);
    for (String name : open) {
      assertEquals(o("channel", name), anonymous.subscribe(name), name + " is open");
    }
    anonymous.send("subscribe", o("channel", "private-x"));
    error(anonymous, 403);
    anonymous.send("subscribe", o("channel", "presence-x"));
    error(anonymous, 403);
    WsClient member = broker.ws(v, "u", ".*");
    assertEquals(o("channel", "private-x", "uid", "u"), member.subscribe("private-x"));
    assertEquals(o("channel", "presence-x", "uid", "u", "subscribers", new JsonArray()), member.subscribe("presence-x"));
    assertEquals(o("uid", "u", "channel", "presence-x"), member.expect(":memberJoined"));
  }

  @Test
  void channelsCanBeOpenedByBackendAdminOrConfiguration() {
    Vhost v = broker.vhost();
    broker.open(v, "by-admin");
    assertEquals(List.of("OK", ""), broker.wbp().request(v.req(), "OC", "by-backend"));
    WsClient c = broker.ws(v);
    c.subscribe("by-admin");
    c.subscribe("by-backend");
    WsClient configured = broker.track(broker.node.ws(NESTED));
    configured.subscribe("chat");
  }

  @Test
  void browsersCannotCreateChannels() {
    Vhost v = broker.vhost();
    WsClient c = broker.ws(v, "u", ".*");
    for (String name : List.of("chat", "private-x", "presence-x")) {
      c.send("subscribe", o("channel", name));
      error(c, 454);
      c.send("broadcast", o("channel", name, "event", "e"));
      error(c, 454);
      c.send("subscribe", o("channel", name));
      error(c, 454); // still not there
    }
    assertEquals(new JsonArray(), broker.node.admin().json(v.path() + "/channels").getJsonArray("channels"));
  }

  @Test
  void closingChannelUnsubscribesEveryone() {
    Vhost v = broker.vhost("chat");
    WsClient a = broker.ws(v);
    WsClient b = broker.ws(v);
    a.subscribe("chat");
    b.subscribe("chat");
    broker.closeChannel(v, "chat");
    a.expectSilence(QUIET_MS); // no :unsubscribed
    b.expectSilence(0);
    a.send("broadcast", o("channel", "chat", "event", "e"));
    error(a, 454);
    // Reopened, it is a new channel nobody is on.
    broker.open(v, "chat");
    broker.backendBroadcast(v, "chat", "news", o());
    a.send("broadcast", o("channel", "chat", "event", "e"));
    error(a, 453);
    b.send("unsubscribe", o("channel", "chat"));
    error(b, 453);
    b.expectSilence(QUIET_MS);
    a.expectSilence(0);
    assertEquals(0, subscribers(v, "chat"));
  }

  @Test
  void droppedConnectionLeavesEveryChannel() {
    Vhost v = broker.vhost("chat", "other");
    RawWs raw = broker.raw(v.path());
    raw.expect(":connected");
    raw.send("subscribe", o("channel", "chat"));
    raw.expect(":subscribed");
    raw.send("subscribe", o("channel", "other"));
    raw.expect(":subscribed");
    assertEquals(1, subscribers(v, "chat"));
    raw.dropAbruptly();
    awaitSubscribers(v, "chat", 0);
    awaitSubscribers(v, "other", 0);
  }

  // ---- isolation ----

  @Test
  void badInputNeverAffectsAnotherClient() {
    Vhost v = broker.vhost("chat");
    WsClient victim = broker.ws(v);
    victim.subscribe("chat");
    WsClient sender = broker.ws(v);
    sender.subscribe("chat");
    WsClient attacker = broker.ws(v);
    List<String> garbage = List.of("", "garbage", "[]", "{}", "null", "{\"a\":1}", "{\"a\":{},\"b\":{}}",
        "{\"subscribe\":[]}", "{\"subscribe\":{\"channel\":\"chat\",\"channel\":\"x\"}}", "{\"broadcast\":{}}",
        "{\"nope\":{}}", "\u0000\u0001", "{\"broadcast\":{\"channel\":\"chat\",\"event\":\":x\"}}",
        "{\"a\":".repeat(200) + "{}" + "}".repeat(200), "{\"pong\":{\"n\":1" + "0".repeat(5000) + "}}x",
        "{\"auth\":{}}", "\uD83D\uDE00", "{\"pong\":{}}]");
    int n = 1000;
    int broadcasts = 0;
    for (int i = 0; i < n; i++) {
      if (i % 100 == 0) {
        attacker.sendBinary(Buffer.buffer(new byte[] {0, 1, 2, (byte) 0xFF}));
      } else {
        attacker.send(garbage.get(i % garbage.size()));
      }
      if (i % 10 == 0) {
        sender.send("broadcast", o("channel", "chat", "event", "tick", "data", o("n", broadcasts++)));
      }
    }
    for (int i = 0; i < broadcasts; i++) {
      assertEquals(i, victim.expect("tick").getInteger("n"));
    }
    for (int i = 0; i < n; i++) {
      error(attacker, 400);
    }
    victim.expectSilence(0);
    stillServes(attacker);
    stillServes(victim);
  }

  // ---- shared ----

  /** Channel names that break the naming rule (128 characters of {@code [A-Za-z0-9_.-]}, not starting with . or -). */
  static List<String> invalidChannelNames() {
    return List.of("", "-a", ".a", "a b", " a", "a ", "a/b", "a:b", "a*", "é", "a\u00e9", "a\nb", "private-a b",
        "presence-a!b", "x".repeat(129));
  }

  private static int subscribers(Vhost v, String channel) {
    return broker.subscribers(v, channel);
  }

  private static void awaitSubscribers(Vhost v, String channel, int expected) {
    broker.awaitSubscribers(v, channel, expected);
  }

}
