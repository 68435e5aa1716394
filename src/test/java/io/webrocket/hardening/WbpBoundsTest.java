package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.Scrape;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 12's backend findings, over real sockets: what a WBP peer can make the broker hold
 * (replies it never reads, parser state, connections, metric series) is bounded, and the
 * protocol edges outside clients hit (half-close, an empty message) are answered.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WbpBoundsTest {
  static final int OUTBOUND_BOUND = 16 * 1024;
  static final long MESSAGE_TIMEOUT_MS = 1_000;
  static TestNode node;
  static int vhosts;

  @BeforeAll
  static void startNode() {
    node = TestNode.start(new JsonObject()
        .put("limits", new JsonObject()
            .put("backendRequestsPerSecond", 10_000_000).put("backendRequestsBurst", 10_000_000))
        .put("backend", new JsonObject()
            .put("outboundQueueBytes", OUTBOUND_BOUND)
            .put("messageTimeoutMs", MESSAGE_TIMEOUT_MS)
            .put("idleTimeoutMs", 5_000)));
  }

  @AfterAll
  static void stopNode() {
    node.close();
  }

  @AfterEach
  void freshClientsAreServed() {
    Served.freshClientsAreServed(node);
  }

  static String vhost() {
    return "/bounds" + (++vhosts);
  }

  static int metricsSize() {
    return node.admin().call("GET", "/metrics", null).body().length();
  }

  // ---- finding 2: metric series from unauthenticated input ----

  @Test
  void madeUpVhostsCreateNoMetricSeries() {
    // One failure of each kind first, so that the fixed series exist before the baseline.
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", "/madeup-warmup", "0".repeat(40)), "OC", "x"));
    }
    int before = metricsSize();
    for (int i = 0; i < 1_000; i++) {
      try (WbpClient c = node.wbp()) {
        assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", "/madeup" + i, "0".repeat(40)), "OC", "x"));
      }
    }
    int after = metricsSize();
    System.out.printf("metrics: %d bytes before, %d after 1,000 made-up vhosts%n", before, after);
    assertTrue(after - before < 2_048, "/metrics grew from " + before + " to " + after + " bytes");
    assertFalse(node.admin().call("GET", "/metrics", null).body().contains("madeup"));
    assertTrue(Scrape.sum(node, "webrocket_auth_failures_total") >= 1_001);
  }

  @Test
  void anIdentityLineOverTheLimitIsRefusedWithoutALabel() {
    // Well under the message size, well over backend.maxIdentityLength (256 by default).
    String longVhost = "/" + "a".repeat(2_000);
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", longVhost, "0".repeat(40)), "OC", "x"));
      assertTrue(c.closedByPeer());
    }
    assertFalse(node.admin().call("GET", "/metrics", null).body().contains("aaaaaaaaaa"));
  }

  // ---- finding 3: replies the peer never reads ----

  /** Bytes a writer thread got into the socket, until it is stuck for 3 s in a row or has sent {@code limit}. */
  static long writeUntilStuck(Socket s, byte[] chunk, long limit) throws Exception {
    AtomicLong written = new AtomicLong();
    ExecutorService writer = Executors.newSingleThreadExecutor();
    try {
      OutputStream out = s.getOutputStream();
      Future<?> writing = writer.submit(() -> {
        try {
          while (written.get() < limit) {
            out.write(chunk);
            written.addAndGet(chunk.length);
          }
        } catch (IOException closed) {
          // the test closed the socket, or the broker did
        }
        return null;
      });
      long last = -1;
      long stuckSince = System.nanoTime();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
      while (System.nanoTime() < deadline && !writing.isDone()) {
        long now = written.get();
        if (now != last) {
          last = now;
          stuckSince = System.nanoTime();
        } else if (System.nanoTime() - stuckSince > TimeUnit.SECONDS.toNanos(3)) {
          break;
        }
        Await.pause(100);
      }
      assertFalse(writing.isDone() && written.get() >= limit,
          "the broker read all " + (limit >> 20) + " MB from a peer that reads nothing");
      return written.get();
    } finally {
      writer.shutdownNow();
    }
  }

  @Test
  void aPersistentClientThatNeverReadsIsNoLongerRead() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    node.openChannel(v, "c");
    double pausedBefore = Scrape.sum(node, "webrocket_backend_reads_paused_total");
    long heapBefore = Served.usedHeapAfterGc();
    byte[] chunk = WbpClient.message(null, "OC", "c").repeat(4_096).getBytes(StandardCharsets.US_ASCII);
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.getOutputStream().write(WbpClient.message(WbpClient.identity("req", v, token), "KA").getBytes(StandardCharsets.US_ASCII));
      long written = writeUntilStuck(s, chunk, 256L << 20);
      long heapAfter = Served.usedHeapAfterGc();
      System.out.printf("KA pipeliner: stopped after %.1f MB written (%d requests); heap %d -> %d MB (%+.1f MB)%n",
          written / 1048576.0, written / (chunk.length / 4_096), heapBefore >> 20, heapAfter >> 20,
          (heapAfter - heapBefore) / 1048576.0);
      assertTrue(written < 32L << 20, "the broker read " + (written >> 20) + " MB");
      assertTrue(heapAfter - heapBefore < 24L << 20, "heap growth " + ((heapAfter - heapBefore) >> 20) + " MB");
      assertTrue(Scrape.sum(node, "webrocket_backend_reads_paused_total") > pausedBefore);
    }
  }

  @Test
  void aWorkerSendingJunkWithoutReadingIsNoLongerRead() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    long heapBefore = Served.usedHeapAfterGc();
    byte[] chunk = WbpClient.message(null, "XX").repeat(8_192).getBytes(StandardCharsets.US_ASCII);
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.getOutputStream().write(WbpClient.message(WbpClient.identity("dlr", v, token), "RD").getBytes(StandardCharsets.US_ASCII));
      long written = writeUntilStuck(s, chunk, 256L << 20);
      long heapAfter = Served.usedHeapAfterGc();
      System.out.printf("junk worker: stopped after %.1f MB written; heap %d -> %d MB (%+.1f MB)%n",
          written / 1048576.0, heapBefore >> 20, heapAfter >> 20, (heapAfter - heapBefore) / 1048576.0);
      assertTrue(written < 32L << 20, "the broker read " + (written >> 20) + " MB");
      assertTrue(heapAfter - heapBefore < 24L << 20, "heap growth " + ((heapAfter - heapBefore) >> 20) + " MB");
    }
  }

  // ---- finding 4: parser amplification and trickle ----

  @Test
  void emptyLinesAfterAFrameCannotMultiplyTheMemoryHeld() throws Exception {
    long heapBefore = Served.usedHeapAfterGc();
    byte[] attack = ("A\n" + "\n".repeat(65_000)).getBytes(StandardCharsets.US_ASCII);
    List<Socket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        Socket s = new Socket("127.0.0.1", node.backendPort);
        s.setSoTimeout(5_000);
        sockets.add(s);
        s.getOutputStream().write(attack);
      }
      Await.pause(1_000); // pacing: the node reads what is in flight before the heap is measured
      long heapAfter = Served.usedHeapAfterGc();
      System.out.printf("50 x (A + 65,000 empty lines): heap %d -> %d MB (%+.1f MB)%n",
          heapBefore >> 20, heapAfter >> 20, (heapAfter - heapBefore) / 1048576.0);
      assertTrue(heapAfter - heapBefore < 16L << 20, "heap growth " + ((heapAfter - heapBefore) >> 20) + " MB");
      for (Socket s : sockets) {
        assertEquals("ER\n400\n\r\n\r\n", readToEnd(s));
      }
    } finally {
      for (Socket s : sockets) {
        s.close();
      }
    }
  }

  @Test
  void aMessageTrickledByteByByteIsCutAtTheMessageDeadline() throws Exception {
    byte[] request = WbpClient.message(WbpClient.identity("req", "/trickle", "0".repeat(40)), "OC", "x")
        .getBytes(StandardCharsets.US_ASCII);
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.setSoTimeout(200);
      long start = System.nanoTime();
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      StringBuilder got = new StringBuilder();
      boolean closed = false;
      for (int i = 0; i < request.length - 1 && !closed; i++) {
        try {
          out.write(request[i]);
        } catch (IOException reset) {
          closed = true;
          break;
        }
        try {
          int b;
          while ((b = in.read()) >= 0) {
            got.append((char) b);
          }
          closed = true;
        } catch (java.net.SocketTimeoutException stillOpen) {
          // keep trickling
        } catch (IOException reset) {
          closed = true;
        }
      }
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertTrue(closed, "still open after " + ms + " ms of trickling");
      assertTrue(ms < MESSAGE_TIMEOUT_MS + 3_000, "closed after " + ms + " ms");
      assertTrue(got.length() == 0 || got.toString().equals("ER\n400\n\r\n\r\n"), got.toString());
    }
  }

  @Test
  void backendConnectionsAreLimitedInTotalAndBeforeIdentifying() throws Exception {
    try (TestNode n = TestNode.start(new JsonObject().put("limits", new JsonObject()
        .put("backendConnectionsPerNode", 6).put("backendConnectionsUnidentified", 3)))) {
      String token = n.createVhost("/limited");
      String id = WbpClient.identity("req", "/limited", token);
      List<WbpClient> open = new ArrayList<>();
      try {
        // Three connections that say nothing: the fourth silent one is refused.
        for (int i = 0; i < 3; i++) {
          open.add(n.wbp());
        }
        assertTrue(Await.within(2_000, () -> Scrape.sum(n, "webrocket_backend_connections_unidentified") == 3));
        try (WbpClient fourth = n.wbp()) {
          assertEquals("ER\n503\n\r\n\r\n", fourth.readToEnd());
        }
        // Identified ones count only against the total: three more fit, then the total is reached.
        for (int i = 0; i < 3; i++) {
          open.get(i).request(id, "KA");
        }
        for (int i = 0; i < 3; i++) {
          WbpClient c = n.wbp();
          open.add(c);
          assertEquals(Served.OK, c.request(id, "KA"));
        }
        try (WbpClient seventh = n.wbp()) {
          assertEquals("ER\n503\n\r\n\r\n", seventh.readToEnd());
        }
        assertEquals(6, Scrape.sum(n, "webrocket_backend_connections"));
        assertTrue(Scrape.sum(n, "webrocket_backend_connections_refused_total") >= 2);
      } finally {
        open.forEach(WbpClient::close);
      }
      // Once they are gone, new ones are served again.
      assertTrue(Await.within(3_000, () -> Scrape.sum(n, "webrocket_backend_connections") == 0));
      Served.freshClientsAreServed(n);
    }
  }

  // ---- finding 5: a regenerated token ends the sessions of the old one ----

  @Test
  void regeneratingTheTokenDisconnectsItsWorkersAndPersistentClients() {
    String v = vhost();
    String token = node.createVhost(v);
    try (WbpClient worker = node.wbp(); WbpClient ka = node.wbp()) {
      worker.write(WbpClient.message(WbpClient.identity("dlr", v, token), "RD"));
      assertEquals("HB", worker.read().get(0));
      assertEquals(1, node.admin().json(v + "/workers").getJsonArray("workers").size());
      assertEquals(Served.OK, ka.request(WbpClient.identity("req", v, token), "KA"));
      assertEquals(302, node.admin().call("PUT", v + "/token").statusCode());
      List<String> m = worker.read();
      while (m.get(0).equals("HB")) {
        m = worker.read();
      }
      assertEquals("QT", m.get(0));
      assertTrue(worker.closedByPeer());
      assertEquals("QT", ka.read().get(0));
      assertTrue(ka.closedByPeer());
      assertTrue(Await.within(3_000, () -> node.admin().json(v + "/workers").getJsonArray("workers").isEmpty()));
    }
    // The new token works at once.
    try (WbpClient c = node.wbp()) {
      assertEquals(Served.OK, c.request(WbpClient.identity("req", v, node.admin().token(v)), "OC", "x"));
    }
  }

  // ---- finding 11: half-close and the empty message ----

  static String readToEnd(Socket s) throws IOException {
    s.setSoTimeout(WbpClient.TIMEOUT_MS);
    return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void aOneShotRequestFollowedByAHalfCloseIsCarriedOutAndAnswered() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.getOutputStream().write(WbpClient.message(WbpClient.identity("req", v, token), "OC", "halfclosed")
          .getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();
      assertEquals("OK\n\n\r\n\r\n", readToEnd(s));
    }
    assertEquals(200, node.admin().call("GET", v + "/channels/halfclosed").statusCode());
  }

  @Test
  void aPersistentClientThatHalfClosesGetsEveryReplyThenTheClose() throws Exception {
    String v = vhost();
    String token = node.createVhost(v);
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.getOutputStream().write((WbpClient.message(WbpClient.identity("req", v, token), "KA")
          + WbpClient.message(null, "OC", "a") + WbpClient.message(null, "CC", "missing")).getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();
      assertEquals("OK\n\n\r\n\r\nOK\n\n\r\n\r\nER\n454\n\r\n\r\n", readToEnd(s));
    }
  }

  @Test
  void aMessageWithNoFramesOnAFreshConnectionGets400() throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.backendPort)) {
      s.getOutputStream().write("\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertEquals("ER\n400\n\r\n\r\n", readToEnd(s));
    }
  }

  @Test
  void strayEmptyLinesBetweenPersistentRequestsStayIgnored() {
    String v = vhost();
    String token = node.createVhost(v);
    try (WbpClient c = node.wbp()) {
      assertEquals(Served.OK, c.request(WbpClient.identity("req", v, token), "KA"));
      c.write("\r\n\r\n\n\n\r\n\r\n");
      assertEquals(Served.OK, c.request(null, "OC", "after"));
    }
  }
}
