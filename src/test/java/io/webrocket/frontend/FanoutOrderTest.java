package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.frontend.Broker.Vhost;
import io.webrocket.test.RawWs;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import io.webrocket.test.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fan-out written once per channel per event-loop pass ({@link FanoutBatch}) delivers exactly
 * what writing every message on arrival did: same order, same receivers.
 *
 * <p>A burst is sent by one browser in one TCP write: the server reads it in a few large reads
 * and publishes hundreds of broadcasts per read, so one pass of the endpoint carries many
 * messages. One endpoint instance, so publisher and subscribers share its event loop.
 *
 * <p>Where exactly a subscribe or unsubscribe lands among the deliveries of a pass is up to
 * timing, so these tests check the outcome, not that every case was hit; {@link FanoutBatchTest}
 * checks the batch itself deterministically.
 */
class FanoutOrderTest {
  private static final int QUIET_MS = 300;
  /** A lasting burst: 20,000 messages in writes of 500, 25 ms apart (1 s or more). */
  private static final int LASTING = 20_000;
  private static final int PER_WRITE = 500;
  private static final long PAUSE_MS = 25;

  @RegisterExtension
  static final Broker broker = new Broker(new JsonObject()
      .put("websocket", new JsonObject().put("instances", 1))
      .put("limits", new JsonObject().put("messagesPerSecond", 1_000_000).put("messagesBurst", 1_000_000)));

  // ---- helpers ----

  /**
   * A browser subscribed to {@code channels} that broadcasts whole bursts in one write, from a
   * thread of its own, and reads and discards what it receives (its own broadcasts among them).
   */
  static final class Publisher implements AutoCloseable {
    final RawWs ws;

    Publisher(Vhost v, String... channels) {
      ws = RawWs.connect(broker.node.wsPort, v.path(), null, 0);
      assertTrue(ws.readText().startsWith("{\":connected\""));
      for (String c : channels) {
        ws.sendText(new JsonObject().put("subscribe", new JsonObject().put("channel", c)).encode());
        String reply = ws.readText();
        assertTrue(reply.startsWith("{\":subscribed\""), reply);
      }
      Thread drain = new Thread(this::drain, "publisher-drain");
      drain.setDaemon(true);
      drain.start();
    }

    private void drain() {
      while (true) {
        try {
          ws.readFrame();
        } catch (SocketTimeoutException idle) {
          // keep draining
        } catch (IOException closed) {
          return;
        }
      }
    }

    /** Broadcasts event {@code e} with {@code {"n": i}} on {@code channels.get(i)} for every i, in one write. */
    CompletableFuture<Void> burst(List<String> channels) {
      return burst(channels, channels.size(), 0);
    }

    /**
     * The same in writes of {@code perWrite} messages, {@code pauseMs} apart: a burst that lasts,
     * for others to act in the middle of it, each write still read and published at once.
     */
    CompletableFuture<Void> burst(List<String> channels, int perWrite, long pauseMs) {
      List<byte[]> writes = new ArrayList<>();
      ByteArrayOutputStream write = new ByteArrayOutputStream();
      for (int i = 0; i < channels.size(); i++) {
        String m = new JsonObject().put("broadcast", new JsonObject().put("channel", channels.get(i)).put("event", "e")
            .put("data", new JsonObject().put("n", i))).encode();
        write.writeBytes(RawWs.frame(1, m.getBytes(StandardCharsets.UTF_8)));
        if ((i + 1) % perWrite == 0 || i == channels.size() - 1) {
          writes.add(write.toByteArray());
          write.reset();
        }
      }
      return CompletableFuture.runAsync(() -> {
        for (byte[] w : writes) {
          ws.sendRaw(w);
          if (pauseMs > 0) {
            Await.pause(pauseMs);
          }
        }
      });
    }

    @Override
    public void close() {
      ws.close();
    }
  }

  static List<String> all(String channel, int n) {
    List<String> channels = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      channels.add(channel);
    }
    return channels;
  }

  /** The {@code n} of user event {@code e}, or -1 for any other message. */
  static int n(JsonObject m) {
    return m.containsKey("e") ? m.getJsonObject("e").getInteger("n") : -1;
  }

  static void await(CompletableFuture<Void> sent) {
    try {
      sent.get(3 * WsClient.TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("burst not sent: " + e, e);
    }
  }

  // ---- rules ----

  @Test
  void aSendersInterleavedBroadcastsOnTwoChannelsArriveInOrderWithoutLoss() {
    Vhost v = broker.vhost("x", "y");
    WsClient both = broker.ws(v);
    WsClient onlyX = broker.ws(v);
    WsClient onlyY = broker.ws(v);
    both.subscribe("x");
    both.subscribe("y");
    onlyX.subscribe("x");
    onlyY.subscribe("y");
    // Runs of 1 to 4 on one channel, then the other: X1 Y1 X2 as well as X1 X2 X3 Y1.
    int n = 5_000;
    Random r = new Random(42);
    List<String> channels = new ArrayList<>();
    String c = "x";
    while (channels.size() < n) {
      for (int run = 1 + r.nextInt(4); run > 0 && channels.size() < n; run--) {
        channels.add(c);
      }
      c = c.equals("x") ? "y" : "x";
    }
    try (Publisher p = new Publisher(v, "x", "y")) {
      await(p.burst(channels));
      for (int i = 0; i < n; i++) {
        JsonObject m = both.expect("e");
        assertEquals(i, m.getInteger("n"), "the subscriber of both got " + m);
        assertEquals(channels.get(i), m.getString("channel"), "message " + i);
      }
      for (String ch : List.of("x", "y")) {
        WsClient only = ch.equals("x") ? onlyX : onlyY;
        for (int i = 0; i < n; i++) {
          if (channels.get(i).equals(ch)) {
            assertEquals(i, only.expect("e").getInteger("n"), "the subscriber of " + ch + " only");
          }
        }
      }
      for (WsClient s : List.of(both, onlyX, onlyY)) {
        s.expectSilence(QUIET_MS);
      }
    }
  }

  @Test
  void anUnsubscribeInABurstLeavesAContiguousPrefixAndNothingAfterUnsubscribed() {
    Vhost v = broker.vhost("x");
    int n = LASTING;
    WsClient watcher = broker.ws(v);
    watcher.subscribe("x");
    int[] leaveAfter = {0, 1_000, 2_000, 4_000, 6_000, 9_000};
    List<WsClient> leaving = new ArrayList<>();
    for (int i = 0; i < leaveAfter.length; i++) {
      WsClient s = broker.ws(v);
      s.subscribe("x");
      leaving.add(s);
    }
    try (Publisher p = new Publisher(v, "x")) {
      CompletableFuture<Void> sent = p.burst(all("x", n), PER_WRITE, PAUSE_MS);
      // Each one unsubscribes once it has received message leaveAfter[i], while the burst goes on.
      int[] got = new int[leaving.size()];
      for (int i = 0; i < leaving.size(); i++) {
        WsClient s = leaving.get(i);
        for (int k = 0; k <= leaveAfter[i]; k++) {
          assertEquals(k, s.expect("e").getInteger("n"));
        }
        s.send("unsubscribe", new JsonObject().put("channel", "x"));
        got[i] = leaveAfter[i] + 1;
      }
      await(sent);
      for (int i = 0; i < n; i++) {
        assertEquals(i, watcher.expect("e").getInteger("n"), "the watcher gets the whole burst");
      }
      for (int i = 0; i < leaving.size(); i++) {
        WsClient s = leaving.get(i);
        JsonObject m;
        while ((m = s.next()).containsKey("e")) {
          assertEquals(got[i]++, n(m), "contiguous, none lost");
        }
        assertEquals(new JsonObject().put(":unsubscribed", new JsonObject().put("channel", "x")), m);
        s.expectSilence(QUIET_MS);
        System.out.printf("unsubscribed in a burst of %d: got the first %d%n", n, got[i]);
      }
      watcher.expectSilence(0);
    }
  }

  @Test
  void aSubscribeInABurstGetsNothingBeforeSubscribedThenTheRestOfTheBurst() {
    Vhost v = broker.vhost("x");
    int n = LASTING;
    WsClient watcher = broker.ws(v);
    watcher.subscribe("x");
    List<WsClient> joining = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      joining.add(broker.ws(v));
    }
    try (Publisher p = new Publisher(v, "x")) {
      CompletableFuture<Void> sent = p.burst(all("x", n), PER_WRITE, PAUSE_MS);
      int seen = -1;
      assertEquals(++seen, watcher.expect("e").getInteger("n"));
      // One subscribes every 61 ms while the burst goes on: out of step with its writes, so the
      // registry's replies come at any point of the endpoint's passes.
      for (WsClient s : joining) {
        Await.pause(61);
        s.send("subscribe", new JsonObject().put("channel", "x"));
      }
      await(sent);
      while (seen < n - 1) {
        assertEquals(++seen, watcher.expect("e").getInteger("n"), "the watcher gets the whole burst");
      }
      watcher.expectSilence(QUIET_MS);
      for (WsClient s : joining) {
        assertEquals(new JsonObject().put("channel", "x"), s.expect(":subscribed"), "nothing before :subscribed");
        List<String> rest = s.drainReceived();
        if (!rest.isEmpty()) {
          int first = n(new JsonObject(rest.get(0)));
          for (int k = 0; k < rest.size(); k++) {
            assertEquals(first + k, n(new JsonObject(rest.get(k))), "contiguous");
          }
          assertEquals(n - 1, first + rest.size() - 1, "up to the end of the burst");
        }
        System.out.printf("subscribed in a burst of %d: got the last %d%n", n, rest.size());
      }
    }
  }

  @Test
  void aChannelClosedRightAfterABurstStillDeliversTheWholeBurst() {
    Vhost v = broker.vhost("x");
    int n = 5_000;
    List<WsClient> subs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      WsClient s = broker.ws(v);
      s.subscribe("x");
      subs.add(s);
    }
    WbpClient backend = broker.wbp();
    assertEquals(List.of("OK", ""), backend.request(v.req(), "KA"));
    StringBuilder pipelined = new StringBuilder();
    for (int i = 0; i < n; i++) {
      pipelined.append(WbpClient.message(null, "BC", "x", "e", new JsonObject().put("n", i).encode()));
    }
    pipelined.append(WbpClient.message(null, "CC", "x"));
    // From another thread: the broker stops reading while too many replies are unread.
    CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> backend.write(pipelined.toString()));
    for (int i = 0; i <= n; i++) {
      assertEquals(List.of("OK", ""), backend.read());
    }
    await(sent);
    for (WsClient s : subs) {
      for (int i = 0; i < n; i++) {
        assertEquals(i, s.expect("e").getInteger("n"), "every broadcast sent before the channel closed");
      }
    }
    for (WsClient s : subs) {
      s.expectSilence(QUIET_MS);
    }
  }
}
