package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.RawWs;
import io.webrocket.test.Scrape;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * One channel, 2,000 subscribers, 50 of which never read. A bounded burst of broadcasts: the
 * readers get every frame in order, the non-readers lose frames (counted) and are closed with
 * 1008 once over their bound for longer than {@code slowConsumerTimeoutMs}, and the heap
 * stays flat. Client and server share this JVM (two descriptors per connection).
 */
class SlowConsumerTest {
  static final int SUBSCRIBERS = 2_000;
  static final int NON_READERS = 50;
  static final int READERS = SUBSCRIBERS - NON_READERS;
  static final int OUTBOUND_QUEUE_BYTES = 16 * 1024;
  static final long SLOW_CONSUMER_TIMEOUT_MS = 1_000;
  static final long PING_INTERVAL_MS = 2_000;
  /** The burst every subscriber is sent: bounded in count and size. */
  static final int BURST = 50;
  static final int BURST_PAD = 1_000;
  /**
   * Filling the non-readers first: on loopback (MTU 64 KiB) the kernel gives a connection a
   * send buffer of ~1.3 MB at once, so a non-reader takes ~1.7 MB before its bound counts.
   */
  static final int FILL_PAD = 60_000;
  static final int FILL_BATCH = 4;
  static final int MAX_FILL_FRAMES = 100;
  static final String PREFIX = "{\"e\":{\"seq\":";
  static final String FILL_PREFIX = "{\"f\":{\"seq\":";

  /** A subscriber that reads everything and checks it arrives complete and in order. */
  static final class Reader {
    final ClientWebSocket ws;
    volatile int next;
    volatile String error;

    Reader(ClientWebSocket ws) {
      this.ws = ws;
    }
  }

  final AtomicLong framesRead = new AtomicLong();

  @Test
  void readersGetEveryFrameNonReadersAreDroppedAndClosedHeapStaysFlat() throws Exception {
    try (TestNode node = TestNode.start(new JsonObject().put("websocket", new JsonObject()
        .put("outboundQueueBytes", OUTBOUND_QUEUE_BYTES)
        .put("slowConsumerTimeoutMs", SLOW_CONSUMER_TIMEOUT_MS)
        .put("pingIntervalMs", PING_INTERVAL_MS))
        .put("backend", new JsonObject().put("maxMessageSize", 128 * 1024)))) {
      String token = node.createVhost("/slow");
      node.openChannel("/slow", "c");
      node.openChannel("/slow", "fill");
      WebSocketClient client = WsClient.client();
      List<Reader> readers = new ArrayList<>();
      List<RawWs> nonReaders = new ArrayList<>();
      ScheduledExecutorService keepalive = Executors.newSingleThreadScheduledExecutor();
      try {
        connectReaders(node, client, readers);
        for (int i = 0; i < NON_READERS; i++) {
          nonReaders.add(nonReader(node));
        }
        // The non-readers still talk (a tab whose page stopped reading): a liveness close
        // would otherwise come first and hide the slow-consumer one.
        keepalive.scheduleAtFixedRate(() -> nonReaders.forEach(SlowConsumerTest::pong), 300, 300, TimeUnit.MILLISECONDS);
        assertEquals(SUBSCRIBERS + NON_READERS, Scrape.sum(node, "webrocket_subscriptions"), 0.0);

        long heapBefore = Served.usedHeapAfterGc();
        try (WbpClient backend = node.wbp()) {
          assertEquals(Served.OK, backend.request(WbpClient.identity("req", "/slow", token), "KA"));
          int filled = fillNonReaders(node, backend);
          double droppedBefore = Scrape.sum(node, "webrocket_frames_dropped_total");
          long start = System.nanoTime();
          StringBuilder burst = new StringBuilder();
          String pad = "x".repeat(BURST_PAD);
          for (int seq = 0; seq < BURST; seq++) {
            burst.append(WbpClient.message(null, "BC", "c", "e", "{\"seq\":" + seq + ",\"pad\":\"" + pad + "\"}"));
          }
          backend.write(burst.toString());
          for (int i = 0; i < BURST; i++) {
            assertEquals(Served.OK, backend.read());
          }
          assertTrue(Await.within(20_000, () -> framesRead.get() >= (long) READERS * BURST), "the readers get the burst");
          System.out.printf("slow consumers: %d non-readers filled with %d frames of %d bytes;"
                  + " a burst of %d frames of %d bytes to %d subscribers in %d ms%n",
              NON_READERS, filled, FILL_PAD, BURST, BURST_PAD, SUBSCRIBERS, (System.nanoTime() - start) / 1_000_000);
          Await.never(100, "a duplicate or a stray frame", () -> framesRead.get() > (long) READERS * BURST);
          for (Reader r : readers) {
            assertEquals(null, r.error);
            assertEquals(BURST, r.next, "a reader got every frame, in order");
          }
          assertEquals((long) READERS * BURST, framesRead.get(), "and nothing more");
          double dropped = Scrape.sum(node, "webrocket_frames_dropped_total") - droppedBefore;
          assertEquals(NON_READERS * BURST, dropped, 0.0, "every burst frame to a non-reader was dropped");
        }

        // Over the bound since the burst: closed 1008 at the next liveness check after the timeout.
        Await.pause(SLOW_CONSUMER_TIMEOUT_MS + PING_INTERVAL_MS + 1_000);
        keepalive.shutdownNow();
        keepalive.awaitTermination(5, TimeUnit.SECONDS);
        int maxSeen = 0;
        for (RawWs ws : nonReaders) {
          maxSeen = Math.max(maxSeen, drainUntilClosed(ws));
          ws.close();
        }
        assertTrue(Await.within(10_000,
            () -> Scrape.sum(node, "webrocket_websocket_connections") == READERS), () -> "the non-readers are gone: "
            + Scrape.sum(node, "webrocket_websocket_connections") + " connections, readers closed "
            + readers.stream().filter(r -> r.ws.isClosed()).count());
        assertEquals(READERS, Scrape.sum(node, "webrocket_subscriptions"), 0.0);
        long heapAfter = Served.usedHeapAfterGc();
        long growth = heapAfter - heapBefore;
        System.out.printf("slow consumers: a non-reader got up to fill frame %d; used heap %d MB -> %d MB (growth %+.1f MB)%n",
            maxSeen, heapBefore >> 20, heapAfter >> 20, growth / 1048576.0);
        assertTrue(growth < 64L << 20, "heap growth " + (growth >> 20) + " MB");
        for (Reader r : readers) {
          assertTrue(!r.ws.isClosed(), "readers stay connected");
        }
      } finally {
        keepalive.shutdownNow();
        nonReaders.forEach(RawWs::close);
        List<Future<Void>> closing = new ArrayList<>();
        readers.forEach(r -> closing.add(r.ws.close()));
        Future.join(closing).await(20, TimeUnit.SECONDS);
        WsClient.await(client.close());
      }
      assertTrue(Await.within(10_000, () -> Scrape.sum(node, "webrocket_websocket_connections") == 0));
      Served.freshClientsAreServed(node);
    }
  }

  /** Connects and subscribes the readers, 200 handshakes at a time. */
  void connectReaders(TestNode node, WebSocketClient client, List<Reader> readers) throws Exception {
    CountDownLatch subscribed = new CountDownLatch(READERS);
    for (int start = 0; start < READERS; start += 200) {
      List<Future<Void>> connecting = new ArrayList<>();
      for (int i = start; i < Math.min(READERS, start + 200); i++) {
        Reader r = new Reader(client.webSocket());
        r.ws.frameHandler(f -> onFrame(r, f, subscribed));
        readers.add(r);
        connecting.add(r.ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(node.wsPort).setURI("/slow"))
            .compose(ws -> ws.writeTextMessage("{\"subscribe\":{\"channel\":\"c\"}}")));
      }
      Future.all(connecting).await(30, TimeUnit.SECONDS);
    }
    assertTrue(subscribed.await(30, TimeUnit.SECONDS), "every reader subscribed; missing " + subscribed.getCount()
        + ", closed " + readers.stream().filter(r -> r.ws.isClosed()).count());
  }

  /** Control messages count the subscriptions; user events must come with the next sequence number. */
  void onFrame(Reader r, WebSocketFrame f, CountDownLatch subscribed) {
    if (!f.isText()) {
      return;
    }
    var data = f.binaryData();
    byte[] b = data.getBytes(0, Math.min(data.length(), 32));
    if (b.length > 4 && b[2] == ':') {
      if (new String(b, StandardCharsets.UTF_8).startsWith("{\":subscribed\"")) {
        subscribed.countDown();
      }
      return;
    }
    int seq = seq(b);
    if (seq != r.next && r.error == null) {
      r.error = "expected frame " + r.next + ", got " + seq;
    }
    r.next = seq + 1;
    framesRead.incrementAndGet();
  }

  static int seq(byte[] b) {
    return seq(b, PREFIX.length());
  }

  static int seq(byte[] b, int from) {
    int n = 0;
    for (int i = from; i < b.length && b[i] >= '0' && b[i] <= '9'; i++) {
      n = n * 10 + (b[i] - '0');
    }
    return n;
  }

  /** A raw socket with a tiny receive buffer: upgrades, subscribes, then never reads again. */
  static RawWs nonReader(TestNode node) {
    RawWs ws = RawWs.connect(node.wsPort, "/slow", null, 1024);
    ws.readText(); // :connected
    for (String channel : new String[] {"c", "fill"}) {
      ws.sendText("{\"subscribe\":{\"channel\":\"" + channel + "\"}}");
      String s = ws.readText();
      assertTrue(s.startsWith("{\":subscribed\""), s);
    }
    return ws;
  }

  static void pong(RawWs ws) {
    try {
      ws.sendText("{\"pong\":{}}");
    } catch (RuntimeException closed) {
      // the server closed it: nothing more to keep alive
    }
  }

  /**
   * Broadcasts large frames on a channel only the non-readers are on, {@link #FILL_BATCH} at a
   * time, until a batch is dropped in full for every one of them: all are over their bound.
   * Bounded by {@link #MAX_FILL_FRAMES}. Returns the number of frames sent.
   */
  static int fillNonReaders(TestNode node, WbpClient backend) {
    String pad = "x".repeat(FILL_PAD);
    int seq = 0;
    double droppedBefore = Scrape.sum(node, "webrocket_frames_dropped_total");
    while (seq < MAX_FILL_FRAMES) {
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < FILL_BATCH; i++) {
        batch.append(WbpClient.message(null, "BC", "fill", "f", "{\"seq\":" + (seq++) + ",\"pad\":\"" + pad + "\"}"));
      }
      backend.write(batch.toString());
      for (int i = 0; i < FILL_BATCH; i++) {
        assertEquals(Served.OK, backend.read());
      }
      double dropped = Scrape.sum(node, "webrocket_frames_dropped_total");
      if (dropped - droppedBefore == NON_READERS * FILL_BATCH) {
        return seq; // every non-reader lost the whole batch
      }
      droppedBefore = dropped;
    }
    throw new AssertionError("the non-readers did not go over their bound within " + MAX_FILL_FRAMES + " frames");
  }

  /**
   * Reads what the server queued for a non-reader: frames in increasing order (some lost), then
   * the 1008 close. Returns the last sequence number seen.
   */
  static int drainUntilClosed(RawWs ws) {
    int last = -1;
    ws.timeout(10_000);
    try {
      ws.receiveBuffer(256 * 1024); // reading now: no need to crawl
      while (true) {
        RawWs.Frame f = ws.readFrame();
        if (f.opcode() == 8) {
          assertEquals(1008, f.closeStatus(), "closed as a slow consumer");
          ws.sendRaw(RawWs.frame(8, f.payload())); // the closing handshake's answer
          return last;
        }
        String text = f.opcode() == 1 ? new String(f.payload(), 0, Math.min(32, f.payload().length), StandardCharsets.UTF_8) : "";
        if (text.startsWith(FILL_PREFIX)) {
          int seq = seq(f.payload(), FILL_PREFIX.length());
          assertTrue(seq > last, "in order, none twice: " + seq + " after " + last);
          last = seq;
        } else if (text.startsWith(PREFIX)) {
          throw new AssertionError("a burst frame reached a non-reader over its bound");
        }
      }
    } catch (EOFException e) {
      throw new AssertionError("closed without a close frame after frame " + last);
    } catch (IOException e) {
      throw new AssertionError("not closed: " + e + " after frame " + last);
    }
  }
}
