package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One test class's node plus the chores of its tests: a fresh vhost per test, channels, single
 * access tokens, workers, and closing every client a test opened. A JUnit extension: a class
 * declares {@code @RegisterExtension static final Broker broker = new Broker(overrides)}, and the
 * node starts before its first test, every client a test opened is closed after it, and the
 * node stops after the last.
 */
final class Broker implements BeforeAllCallback, AfterEachCallback, AfterAllCallback, AutoCloseable {
  /** A vhost made for one test: its path and access token. */
  record Vhost(String path, String token) {
    String req() {
      return WbpClient.identity("req", path, token);
    }

    String dlr() {
      return WbpClient.identity("dlr", path, token);
    }
  }

  private final JsonObject overrides;
  /** The class's node, from its first test on. */
  TestNode node;
  private final List<AutoCloseable> opened = new ArrayList<>();

  Broker(JsonObject overrides) {
    this.overrides = overrides;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    node = TestNode.start(overrides);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    closeClients();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  /** A new vhost with {@code channels} open ({@link TestNode#freshVhost}). */
  Vhost vhost(String... channels) {
    TestNode.Vhost v = node.freshVhost(channels);
    return new Vhost(v.path(), v.token());
  }

  void open(Vhost v, String channel) {
    node.openChannel(v.path(), channel);
  }

  /** Closes a channel through WBP {@code CC}. */
  void closeChannel(Vhost v, String channel) {
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("OK", ""), c.request(v.req(), "CC", channel));
    }
  }

  /** A backend broadcast through WBP {@code BC}. */
  void backendBroadcast(Vhost v, String channel, String event, JsonObject data) {
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("OK", ""), c.request(v.req(), "BC", channel, event, data.encode()));
    }
  }

  /** How many subscribers the registry counts on a channel (admin API). */
  int subscribers(Vhost v, String channel) {
    return node.admin().json(v.path() + "/channels/" + channel)
        .getJsonObject("channel").getJsonObject("subscribers").getInteger("size");
  }

  /** Waits (bounded) for the registry to count {@code expected} subscribers on a channel. */
  void awaitSubscribers(Vhost v, String channel, int expected) {
    Await.until(5_000, expected + " subscribers on " + channel, () -> subscribers(v, channel), n -> n == expected);
  }

  /** A single access token for {@code uid} with permission pattern {@code permission}. */
  String token(Vhost v, String uid, String permission) {
    try (WbpClient c = node.wbp()) {
      List<String> reply = c.request(v.req(), "AT", uid, permission);
      assertEquals("AT", reply.get(0), "AT reply " + reply);
      return reply.get(1);
    }
  }

  WsClient ws(Vhost v) {
    return track(node.ws(v.path()));
  }

  /** A connection authenticated as {@code uid} with {@code permission}. */
  WsClient ws(Vhost v, String uid, String permission) {
    WsClient c = ws(v);
    c.auth(token(v, uid, permission));
    return c;
  }

  RawWs raw(String path) {
    return track(RawWs.connect(node.wsPort, path));
  }

  WbpClient wbp() {
    return track(node.wbp());
  }

  /** A worker of {@code v} that is in the lobby (its first HB has arrived). */
  WbpClient worker(Vhost v) {
    WbpClient w = wbp();
    w.write(WbpClient.message(v.dlr(), "RD"));
    assertEquals("HB", w.read().get(0));
    return w;
  }

  /** The JSON of the next {@code TR} a worker receives, skipping heartbeats. */
  static JsonObject nextTrigger(WbpClient worker) {
    while (true) {
      List<String> m = worker.read();
      if (m.get(0).equals("HB")) {
        continue;
      }
      assertEquals("TR", m.get(0), "worker got " + m);
      assertEquals(2, m.size(), "TR carries one frame: " + m);
      return new JsonObject(m.get(1));
    }
  }

  /** Asserts a worker gets no {@code TR} for {@code ms} (heartbeats are fine). */
  static void expectNoTrigger(WbpClient worker, int ms) {
    worker.setTimeout(ms);
    try {
      while (true) {
        List<String> m = worker.read();
        if (!m.get(0).equals("HB")) {
          throw new AssertionError("expected no trigger, got " + m);
        }
      }
    } catch (AssertionError e) {
      if (!e.getMessage().startsWith("no message within")) {
        throw e;
      }
    } finally {
      worker.setTimeout(WbpClient.TIMEOUT_MS);
    }
  }

  <T extends AutoCloseable> T track(T c) {
    opened.add(c);
    return c;
  }

  /** Closes every client the current test opened. */
  void closeClients() {
    for (AutoCloseable c : opened) {
      try {
        c.close();
      } catch (Exception ignored) {
        // closed by the server already
      }
    }
    opened.clear();
  }

  @Override
  public void close() {
    closeClients();
    if (node != null) {
      node.close();
      node = null;
    }
  }
}
