package io.webrocket.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The worker ({@code dlr}) conversation of WBP.md, over real sockets, with browsers triggering. */
class WorkerTest {
  static final long EXPIRY_MS = 1000;
  static final long BROKER_HB_MS = 100;
  static final long WORKER_HB_MS = 150;

  static TestNode node;
  static AdminClient admin;
  static ScheduledExecutorService timer;
  static int vhosts;

  String vhost;
  String token;
  final List<AutoCloseable> open = new ArrayList<>();

  @BeforeAll
  static void startNode() {
    node = TestNode.start(new JsonObject().put("backend", new JsonObject()
        .put("workerExpiryMs", EXPIRY_MS).put("heartbeatIntervalMs", BROKER_HB_MS)));
    admin = node.admin();
    timer = Executors.newScheduledThreadPool(2);
  }

  @AfterAll
  static void stopNode() {
    timer.shutdownNow();
    node.close();
  }

  @BeforeEach
  void freshVhost() {
    vhost = "/workers" + (++vhosts);
    token = node.createVhost(vhost);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  /** A worker socket: a reader thread sorts what the broker sends; writes are serialized. */
  static final class Worker implements AutoCloseable {
    final String uuid = UUID.randomUUID().toString();
    final String identity;
    final WbpClient c;
    final LinkedBlockingQueue<List<String>> inbox = new LinkedBlockingQueue<>();
    final List<Long> heartbeats = new CopyOnWriteArrayList<>();
    final CountDownLatch eof = new CountDownLatch(1);
    private final Thread reader;
    private volatile boolean closing;
    private ScheduledFuture<?> beating;

    Worker(TestNode n, String vhost, String token) {
      identity = "dlr:" + vhost + ":" + token + ":" + uuid;
      c = n.wbp();
      c.setTimeout(200);
      reader = new Thread(this::readLoop, "worker-" + uuid);
      reader.setDaemon(true);
      reader.start();
    }

    private void readLoop() {
      while (!closing) {
        try {
          List<String> m = c.read();
          if (m.get(0).equals("HB")) {
            heartbeats.add(System.nanoTime());
          } else {
            inbox.add(m);
          }
        } catch (AssertionError e) {
          if (!String.valueOf(e.getMessage()).startsWith("no message")) {
            break; // closed
          }
        }
      }
      eof.countDown();
    }

    synchronized Worker write(String raw) {
      c.write(raw);
      return this;
    }

    /** Sends RD and waits for the broker's first HB. */
    Worker ready() {
      write(WbpClient.message(identity, "RD"));
      Await.within(5_000, () -> !heartbeats.isEmpty() || eof.getCount() == 0);
      assertFalse(heartbeats.isEmpty(), "broker HB after RD");
      return this;
    }

    Worker hb(boolean withIdentity) {
      return write(WbpClient.message(withIdentity ? identity : null, "HB"));
    }

    /** Heartbeats like the Ruby worker (no identity), until {@link #stopBeating()}. */
    Worker keepBeating() {
      beating = timer.scheduleAtFixedRate(() -> {
        try {
          hb(false);
        } catch (RuntimeException e) {
          // socket gone: the test sees it
        }
      }, 0, WORKER_HB_MS, TimeUnit.MILLISECONDS);
      return this;
    }

    void stopBeating() {
      if (beating != null) {
        beating.cancel(false);
      }
    }

    /** The next message other than HB. */
    List<String> next(long ms) {
      try {
        List<String> m = inbox.poll(ms, TimeUnit.MILLISECONDS);
        if (m == null) {
          throw new AssertionError("no message within " + ms + " ms");
        }
        return m;
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }

    boolean closedWithin(long ms) {
      try {
        return eof.await(ms, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void close() throws InterruptedException {
      stopBeating();
      closing = true;
      c.close();
      reader.join(2000);
    }
  }

  Worker worker() {
    Worker w = new Worker(node, vhost, token);
    open.add(w);
    return w;
  }

  /** A browser authenticated with a single access token from WBP AT. */
  WsClient browser() {
    WsClient b = node.ws(vhost);
    open.add(b);
    List<String> at;
    try (WbpClient c = node.wbp()) {
      at = c.request(WbpClient.identity("req", vhost, token), "AT", "user1", ".*");
    }
    assertEquals("AT", at.get(0));
    b.auth(at.get(1));
    return b;
  }

  static void trigger(WsClient browser, String event, JsonObject data) {
    browser.send("trigger", new JsonObject().put("event", event).put("data", data));
  }

  /** Asserts {@code m} is TR with one frame, {@code {"event": {...data, "sid": sid}}}. */
  static JsonObject assertTrigger(List<String> m, String event, String sid) {
    assertEquals("TR", m.get(0), m.toString());
    assertEquals(2, m.size(), m.toString());
    JsonObject json = new JsonObject(m.get(1));
    assertEquals(Set.of(event), json.fieldNames(), m.toString());
    JsonObject data = json.getJsonObject(event);
    assertEquals(sid, data.getString("sid"));
    return data;
  }

  Set<String> listedWorkers() {
    Set<String> ids = new HashSet<>();
    JsonArray list = admin.json(vhost + "/workers").getJsonArray("workers");
    for (Object o : list) {
      ids.add(((JsonObject) o).getString("id"));
    }
    return ids;
  }

  /** Polls the admin worker list until it equals {@code expected} (bounded). */
  void awaitListedWorkers(Set<String> expected) {
    Await.within(5_000, () -> listedWorkers().equals(expected));
    assertEquals(expected, listedWorkers());
  }

  // ---- 1, 2: ready and heartbeats ----

  @Test
  void readyThenBrokerHeartbeatsWellUnderTwoSecondsApart() {
    // With the default configuration, as the 2012 Go worker would see it.
    try (TestNode n = TestNode.start()) {
      String t = n.createVhost("/hb");
      Worker w = new Worker(n, "/hb", t);
      open.add(w);
      long sent = System.nanoTime();
      w.ready();
      Await.within(5_000, () -> w.heartbeats.size() >= 4);
      List<Long> beats = new ArrayList<>(w.heartbeats);
      assertTrue(beats.size() >= 4, "heartbeats: " + beats.size());
      long previous = sent;
      for (long b : beats) {
        long gapMs = (b - previous) / 1_000_000;
        assertTrue(gapMs < 1500, "gap of " + gapMs + " ms between broker heartbeats");
        previous = b;
      }
      assertTrue(w.inbox.isEmpty(), w.inbox.toString());
    }
  }

  @Test
  void brokerHeartbeatIsHbThenEmptyFrame() {
    try (WbpClient c = node.wbp()) {
      c.write(WbpClient.message(WbpClient.identity("dlr", vhost, token), "RD"));
      assertEquals(List.of("HB", ""), c.read());
      assertEquals(List.of("HB", ""), c.read());
    }
  }

  @Test
  void workerHeartbeatWithIdentityKeepsItAlive() {
    Worker w = worker().ready();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EXPIRY_MS * 5 / 2);
    while (System.nanoTime() < end) {
      w.hb(true);
      Await.pause(WORKER_HB_MS);
    }
    assertTrue(w.inbox.isEmpty(), "no QT: " + w.inbox);
    assertFalse(w.closedWithin(0));
    assertEquals(Set.of(w.uuid), listedWorkers());
  }

  @Test
  void workerHeartbeatWithoutIdentityKeepsItAlive() {
    Worker w = worker().ready().keepBeating();
    Await.never(EXPIRY_MS * 5 / 2, "a QT", () -> !w.inbox.isEmpty()); // 2.5 times the expiry
    assertFalse(w.closedWithin(0));
    WsClient b = browser();
    trigger(b, "x", new JsonObject().put("a", 1));
    assertEquals(1, assertTrigger(w.next(5000), "x", b.sid).getInteger("a"));
  }

  @Test
  void silentWorkerIsDroppedWithinExpiry() {
    Worker alive = worker().ready().keepBeating();
    Worker silent = worker().ready();
    long readyAt = silent.heartbeats.get(0);
    assertEquals(List.of("QT", ""), silent.next(EXPIRY_MS + 3000));
    long droppedAfterMs = (System.nanoTime() - readyAt) / 1_000_000;
    assertTrue(droppedAfterMs >= EXPIRY_MS - 50, "dropped too early: " + droppedAfterMs + " ms");
    assertTrue(droppedAfterMs <= EXPIRY_MS + BROKER_HB_MS + 1000, "dropped late: " + droppedAfterMs + " ms");
    assertTrue(silent.closedWithin(2000), "connection closed after QT");
    assertTrue(alive.inbox.isEmpty(), alive.inbox.toString());
    awaitListedWorkers(Set.of(alive.uuid));

    WsClient b = browser();
    for (int i = 0; i < 10; i++) {
      trigger(b, "x", new JsonObject().put("n", i));
    }
    for (int i = 0; i < 10; i++) {
      assertTrigger(alive.next(5000), "x", b.sid);
    }
    b.expectSilence(100);
  }

  @Test
  void heartbeatOnFreshConnectionGetsQt() {
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("QT", ""), c.request(null, "HB"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("QT", ""), c.request(WbpClient.identity("dlr", vhost, token), "HB"));
      assertTrue(c.closedByPeer());
    }
    assertEquals(Set.of(), listedWorkers());
  }

  @Test
  void readyAndHeartbeatInOneSegmentIsNotQuit() {
    Worker w = worker();
    w.write(WbpClient.message(w.identity, "RD") + WbpClient.message(null, "HB") + WbpClient.message(w.identity, "HB"));
    w.keepBeating();
    Await.never(EXPIRY_MS / 2, "a QT", () -> !w.inbox.isEmpty());
    assertFalse(w.heartbeats.isEmpty());
    assertEquals(Set.of(w.uuid), listedWorkers());
    WsClient b = browser();
    trigger(b, "x", new JsonObject());
    assertTrigger(w.next(5000), "x", b.sid);
  }

  @Test
  void readyWithWrongTokenIs402AndCloses() {
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("dlr", vhost, "a".repeat(40)), "RD"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("dlr", "/no-such-vhost", token), "RD"));
      assertTrue(c.closedByPeer());
    }
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request("dlr:" + vhost + ":" + token + ":not-a-uuid", "RD"));
      assertTrue(c.closedByPeer());
    }
    assertEquals(Set.of(), listedWorkers());
  }

  @Test
  void readyWithRegeneratedTokenIs402() {
    String old = token;
    assertEquals(302, admin.call("PUT", vhost + "/token").statusCode());
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("dlr", vhost, old), "RD"));
      assertTrue(c.closedByPeer());
    }
    token = admin.token(vhost);
    worker().ready();
  }

  // ---- 3: triggers ----

  @Test
  void triggerReachesTheWorkerAsTrWithSid() {
    Worker w = worker().ready().keepBeating();
    WsClient b = browser();
    JsonObject data = new JsonObject().put("text", "hi").put("sid", "forged").put("nested", new JsonObject().put("k", 1));
    trigger(b, "x", data);
    JsonObject got = assertTrigger(w.next(5000), "x", b.sid);
    assertEquals(data.copy().put("sid", b.sid), got);
    b.expectSilence(100);
  }

  @Test
  void triggerWithoutDataCarriesTheSid() {
    Worker w = worker().ready().keepBeating();
    WsClient b = browser();
    b.send("trigger", new JsonObject().put("event", "ping"));
    assertEquals(new JsonObject().put("sid", b.sid), assertTrigger(w.next(5000), "ping", b.sid));
  }

  @Test
  void twoWorkersShareTriggersEachReachesExactlyOne() {
    Worker w1 = worker().ready().keepBeating();
    Worker w2 = worker().ready().keepBeating();
    WsClient b = browser();
    int count = 40;
    for (int i = 0; i < count; i++) {
      trigger(b, "x", new JsonObject().put("n", i));
    }
    List<Integer> seen1 = new ArrayList<>();
    List<Integer> seen2 = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (seen1.size() + seen2.size() < count && System.nanoTime() < deadline) {
      List<String> m1 = w1.inbox.poll();
      if (m1 != null) {
        seen1.add(assertTrigger(m1, "x", b.sid).getInteger("n"));
      }
      List<String> m2 = w2.inbox.poll();
      if (m2 != null) {
        seen2.add(assertTrigger(m2, "x", b.sid).getInteger("n"));
      }
      if (m1 == null && m2 == null) {
        Await.pause(5);
      }
    }
    Await.never(200, "more triggers (duplicates)",
        () -> !w1.inbox.isEmpty() || !w2.inbox.isEmpty());
    Set<Integer> all = new HashSet<>(seen1);
    all.addAll(seen2);
    assertEquals(count, seen1.size() + seen2.size(), seen1 + " " + seen2);
    assertEquals(count, all.size(), "each trigger exactly once: " + seen1 + " " + seen2);
    assertFalse(seen1.isEmpty(), "worker 1 got some");
    assertFalse(seen2.isEmpty(), "worker 2 got some");
    b.expectSilence(100);
  }

  @Test
  void triggerWithoutWorkerIs503() {
    WsClient b = browser();
    trigger(b, "x", new JsonObject());
    b.expectError(503);
  }

  @Test
  void workersOfAnotherVhostDoNotGetTriggers() {
    Worker w = worker().ready().keepBeating();
    String other = vhost + "other";
    String otherToken = node.createVhost(other);
    Worker elsewhere = new Worker(node, other, otherToken);
    open.add(elsewhere);
    elsewhere.ready().keepBeating();
    WsClient b = browser();
    for (int i = 0; i < 6; i++) {
      trigger(b, "x", new JsonObject().put("n", i));
      assertTrigger(w.next(5000), "x", b.sid);
    }
    Await.never(100, "a trigger to the other vhost's worker", () -> !elsewhere.inbox.isEmpty());
  }

  // ---- 4: quitting ----

  @Test
  void workerQuitLeavesTheLobby() {
    Worker w = worker().ready().keepBeating();
    awaitListedWorkers(Set.of(w.uuid));
    w.stopBeating();
    w.write("QT\n\r\n\r\n"); // as the Ruby worker: no identity
    assertTrue(w.closedWithin(3000), "broker closes the connection after QT");
    awaitListedWorkers(Set.of());
    WsClient b = browser();
    trigger(b, "x", new JsonObject());
    b.expectError(503);
  }

  @Test
  void workerQuitWithIdentityLeavesTheLobby() {
    Worker stays = worker().ready().keepBeating();
    Worker leaves = worker().ready().keepBeating();
    awaitListedWorkers(Set.of(stays.uuid, leaves.uuid));
    leaves.stopBeating();
    leaves.write(WbpClient.message(leaves.identity, "QT"));
    assertTrue(leaves.closedWithin(3000));
    awaitListedWorkers(Set.of(stays.uuid));
    WsClient b = browser();
    for (int i = 0; i < 6; i++) {
      trigger(b, "x", new JsonObject().put("n", i));
      assertTrigger(stays.next(5000), "x", b.sid);
    }
    assertTrue(leaves.inbox.isEmpty(), leaves.inbox.toString());
  }

  @Test
  void droppedConnectionLeavesTheLobby() throws InterruptedException {
    Worker w = worker().ready().keepBeating();
    awaitListedWorkers(Set.of(w.uuid));
    w.close();
    awaitListedWorkers(Set.of());
    WsClient b = browser();
    trigger(b, "x", new JsonObject());
    b.expectError(503);
  }

  @Test
  void adminListsWorkerIds() {
    assertEquals(Set.of(), listedWorkers());
    Worker w1 = worker().ready().keepBeating();
    Worker w2 = worker().ready().keepBeating();
    awaitListedWorkers(Set.of(w1.uuid, w2.uuid));
    JsonObject entry = admin.json(vhost + "/workers").getJsonArray("workers").getJsonObject(0);
    assertNotNull(entry.getJsonArray("links"));
  }

  @Test
  void deletingTheVhostSendsQtToItsWorkers() {
    Worker w1 = worker().ready().keepBeating();
    Worker w2 = worker().ready().keepBeating();
    assertEquals(202, admin.call("DELETE", vhost).statusCode());
    assertEquals(List.of("QT", ""), w1.next(5000));
    assertEquals(List.of("QT", ""), w2.next(5000));
    assertTrue(w1.closedWithin(3000));
    assertTrue(w2.closedWithin(3000));
  }

  @Test
  void shutdownSendsQtToWorkers() {
    TestNode n = TestNode.start();
    Worker w;
    try {
      String t = n.createVhost("/bye");
      w = new Worker(n, "/bye", t);
      open.add(w);
      w.ready();
    } finally {
      n.close();
    }
    assertEquals(List.of("QT", ""), w.next(5000));
    assertTrue(w.closedWithin(3000));
  }

  // ---- the Ruby worker, byte for byte ----

  @Test
  void rubyWorkerBytesWork() {
    Worker w = worker();
    w.write(w.identity + "\n\nRD\n\r\n\r\n");
    w.keepBeating(); // "HB\n\r\n\r\n" every WORKER_HB_MS, never a reply to TR
    WsClient b = browser();
    Await.pause(EXPIRY_MS / 2);
    for (int i = 0; i < 5; i++) {
      trigger(b, "job", new JsonObject().put("n", i));
      assertEquals(i, assertTrigger(w.next(5000), "job", b.sid).getInteger("n"));
    }
    // Still alive long past the expiry (1.5 times it), without ever answering TR.
    Await.never(EXPIRY_MS * 3 / 2, "a QT", () -> !w.inbox.isEmpty());
    trigger(b, "job", new JsonObject());
    assertTrigger(w.next(5000), "job", b.sid);
    w.stopBeating();
    w.write("QT\n\r\n\r\n");
    assertTrue(w.closedWithin(3000));
    b.expectSilence(100);
  }
}
