package io.webrocket.frontend;

import static io.webrocket.frontend.WwfpTest.error;
import static io.webrocket.frontend.WwfpTest.o;
import static io.webrocket.frontend.WwfpTest.stillServes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.frontend.Broker.Vhost;
import io.webrocket.test.RawWs;
import io.webrocket.test.WsClient;
import io.webrocket.test.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The WWFP rules that run on timers: liveness (server pings, silent sockets closed) and the
 * expiry of single access tokens. The node runs with a short ping interval and the shortest
 * token lifetime the configuration allows.
 */
class WwfpTimersTest {
  private static final int PING_MS = 300;
  private static final int TOKEN_LIFETIME_MS = 1000;
  @RegisterExtension
  static final Broker broker = new Broker(new JsonObject()
      .put("websocket", new JsonObject().put("pingIntervalMs", PING_MS))
      .put("tokens", new JsonObject().put("lifetimeMs", TOKEN_LIFETIME_MS)));

  @Test
  void serverPingsEverySocket() {
    Vhost v = broker.vhost();
    RawWs raw = broker.raw(v.path());
    raw.answerPings = true;
    raw.expect(":connected");
    long deadline = System.currentTimeMillis() + 10L * PING_MS;
    while (raw.pingsSeen < 2 && System.currentTimeMillis() < deadline) {
      RawWs.Frame f = raw.nextFrame();
      assertTrue(f != null && f.opcode() == RawWs.OP_PING, "expected pings only, got " + f);
      raw.pingsSeen++;
      raw.sendFrame(true, RawWs.OP_PONG, f.payload());
    }
    assertTrue(raw.pingsSeen >= 2, "pings seen: " + raw.pingsSeen);
  }

  @Test
  void socketThatStopsAnsweringPingsIsClosed() {
    Vhost v = broker.vhost("presence-room");
    WsClient watcher = broker.ws(v, "watcher", ".*");
    watcher.subscribe("presence-room");
    watcher.expect(":memberJoined");
    String token = broker.token(v, "silent", ".*");
    RawWs silent = broker.raw(v.path());
    silent.answerPings = false;
    silent.expect(":connected");
    silent.send("auth", o("token", token));
    silent.expect(":authenticated");
    silent.send("subscribe", o("channel", "presence-room", "data", o("x", 1)));
    silent.expect(":subscribed");
    silent.expect(":memberJoined");
    watcher.expect(":memberJoined");

    long start = System.nanoTime();
    silent.awaitClose(); // never answers a ping
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(silent.pingsSeen >= 1, "closed without being pinged");
    assertTrue(tookMs < 10L * PING_MS, "closed only after " + tookMs + " ms");
    // Closed for silence counts as leaving; the answering client is untouched.
    assertEquals(o("uid", "silent", "channel", "presence-room", "x", 1), watcher.expect(":memberLeft"));
    assertFalse(watcher.isClosed());
    stillServes(watcher);
  }

  @Test
  void socketThatAnswersPingsStaysOpen() {
    Vhost v = broker.vhost();
    WsClient browser = broker.ws(v); // answers pings by itself, as browsers do
    RawWs raw = broker.raw(v.path());
    raw.answerPings = true;
    raw.expect(":connected");
    long until = System.currentTimeMillis() + 4L * PING_MS; // twice the allowed silence
    while (System.currentTimeMillis() < until) {
      RawWs.Frame f = raw.nextFrame();
      assertTrue(f != null && f.opcode() == RawWs.OP_PING, "expected pings only, got " + f);
      raw.sendFrame(true, RawWs.OP_PONG, f.payload());
    }
    raw.send("subscribe", o("channel", "nope"));
    assertEquals(454, raw.expect(":error").getInteger("code"));
    stillServes(browser);
  }

  @Test
  void expiredTokenIs402() {
    Vhost v = broker.vhost();
    String fresh = broker.token(v, "u", ".*");
    String stale = broker.token(v, "u", ".*");
    WsClient c = broker.ws(v);
    c.auth(fresh);
    Await.pause(TOKEN_LIFETIME_MS + 200);
    WsClient d = broker.ws(v);
    d.send("auth", o("token", stale));
    error(d, 402);
  }
}
