package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.webrocket.store.Store.VhostRecord;
import io.webrocket.store.StoreClient;
import io.webrocket.test.AdminClient;
import io.webrocket.test.Await;
import io.webrocket.test.PostgresServer;
import io.webrocket.test.TestNode;
import io.webrocket.test.WsClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The PostgreSQL store beyond what {@link PostgresPersistenceTest} covers: several nodes sharing
 * one database, readiness following the database, start-up refused on bad credentials, and
 * changes applied in arrival order although the client is asynchronous.
 */
class PostgresStoreTest {
  private static PostgresServer pg;

  @BeforeAll
  static void startServer() {
    pg = PostgresServer.startOrSkip();
  }

  @AfterAll
  static void stopServer() {
    if (pg != null) {
      pg.close();
    }
  }

  private static Path tempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject node(String database, String name) {
    return pg.nodeConfig(database).put("node", new JsonObject().put("name", name));
  }

  @Test
  void twoNodesOnOneDatabaseSeeTheSameVhostsAndChannelsAfterARestartOfBoth() throws Exception {
    String db = pg.createDatabase();
    Path dirA = tempDir("webrocket-pg-a");
    Path dirB = tempDir("webrocket-pg-b");
    String cookieA;
    String cookieB;
    Map<String, String> tokens = new HashMap<>();
    // Both start at once on an empty database: the schema is created once, without a clash.
    CompletableFuture<TestNode> startingB = CompletableFuture.supplyAsync(() -> TestNode.start(dirB, node(db, "b")));
    try (TestNode a = TestNode.start(dirA, node(db, "a")); TestNode b = startingB.get(120, TimeUnit.SECONDS)) {
      cookieA = a.cookie();
      cookieB = b.cookie();
      assertNotEquals(cookieA, cookieB, "each node has its own cookie");
      tokens.put("/from-a", a.createVhost("/from-a"));
      a.openChannel("/from-a", "chat");
      a.openChannel("/from-a", "presence-room");
      tokens.put("/from-b", b.createVhost("/from-b"));
      b.openChannel("/from-b", "news");
      assertEquals(302, b.admin().call("PUT", "/from-b/token").statusCode());
      tokens.put("/from-b", b.admin().token("/from-b"));
    }
    assertEquals("cookie:a\ncookie:b", pg.psql(db, "SELECT key FROM settings ORDER BY key"), "settings are keyed by node");
    assertFalse(Files.exists(dirA.resolve("webrocket.db")), "no embedded database file");
    assertFalse(Files.exists(dirB.resolve("webrocket.db")), "no embedded database file");

    try (TestNode b = TestNode.start(dirB, node(db, "b")); TestNode a = TestNode.start(dirA, node(db, "a"))) {
      assertEquals(cookieA, a.cookie());
      assertEquals(cookieB, b.cookie());
      for (TestNode n : List.of(a, b)) {
        AdminClient admin = n.admin();
        assertEquals(tokens, PersistenceTest.vhosts(admin));
        assertEquals(new TreeSet<>(Set.of("chat", "presence-room")), PersistenceTest.channels(admin, "/from-a"));
        assertEquals(new TreeSet<>(Set.of("news")), PersistenceTest.channels(admin, "/from-b"));
      }
      // Node b serves the vhost node a created: its token works there, its channel takes subscribers.
      try (WsClient browser = b.ws("/from-a")) {
        browser.subscribe("chat");
        assertEquals(List.of("OK", ""), PersistenceTest.backend(b.backendPort, "/from-a", tokens.get("/from-a"), "BC", "chat", "hi", "{}"));
        assertEquals(new JsonObject().put("channel", "chat"), browser.expect("hi"));
      }
    }
  }

  private static HttpResponse<String> awaitReady(TestNode n, int status, long timeoutMs) {
    return Await.until(timeoutMs, "/ready answering " + status, () -> n.admin().call("GET", "/ready", null),
        r -> r.statusCode() == status);
  }

  @Test
  void readyFlipsTo503WhenThePostgresServerStopsAndBackWhenItReturns() throws Exception {
    String db = pg.createDatabase();
    try (TestNode n = TestNode.start(tempDir("webrocket-pg-ready"), pg.nodeConfig(db))) {
      HttpResponse<String> up = n.admin().call("GET", "/ready", null);
      assertEquals(200, up.statusCode(), up.body());
      pg.stop();
      try {
        JsonObject down = new JsonObject(awaitReady(n, 503, 20_000).body());
        assertEquals("DOWN", down.getString("status"));
        assertEquals("DOWN", down.getJsonObject("checks").getString("store"));
        assertEquals(200, n.admin().call("GET", "/health", null).statusCode(), "alive, though not ready");
      } finally {
        pg.start();
      }
      JsonObject again = new JsonObject(awaitReady(n, 200, 30_000).body());
      assertEquals("UP", again.getJsonObject("checks").getString("store"));
      // The pool reconnected: changes are stored again.
      String token = n.createVhost("/after-restart");
      assertEquals(token, pg.psql(db, "SELECT token FROM vhosts WHERE path = '/after-restart'"));
    }
  }

  @Test
  void badCredentialsStopStartUpWithAClearMessage() {
    String db = pg.createDatabase();
    Path dir = tempDir("webrocket-pg-badauth");
    String wrong = "not-the-Password-42";
    JsonObject bad = pg.nodeConfig(db);
    bad.getJsonObject("store").getJsonObject("postgres").put("password", wrong);
    Exception e = assertThrows(Exception.class, () -> TestNode.start(dir, bad));
    String msg = e.getMessage();
    assertTrue(msg.contains("cannot use the PostgreSQL store " + PostgresServer.USER + "@127.0.0.1:" + pg.port + "/" + db), msg);
    assertTrue(msg.contains("password authentication failed"), msg);
    assertFalse(msg.contains(wrong), "the password is never shown: " + msg);

    // Nothing listens there: refused too, saying so.
    JsonObject nobody = pg.nodeConfig(db);
    int closedPort = TestNode.freePort();
    nobody.getJsonObject("store").getJsonObject("postgres").put("port", closedPort);
    Exception refused = assertThrows(Exception.class, () -> TestNode.start(dir, nobody));
    assertTrue(refused.getMessage().contains("127.0.0.1:" + closedPort), refused.getMessage());
    assertTrue(refused.getMessage().toLowerCase().contains("refused"), refused.getMessage());

    // The failed starts released the data directory.
    try (TestNode n = TestNode.start(dir, pg.nodeConfig(db))) {
      assertEquals(200, n.admin().call("GET", "/ready", null).statusCode());
    }
  }

  @Test
  void aNodeWithBadCredentialsExitsWithTheReasonAndNeverShowsThePassword() throws Exception {
    String db = pg.createDatabase();
    String wrong = "not-the-Password-43";
    Map<String, String> env = new HashMap<>(pg.nodeEnv(db));
    env.put("WEBROCKET_STORE_POSTGRES_PASSWORD", wrong);
    try (ChildJvm child = ChildJvm.start(tempDir("webrocket-pg-badauth-cwd"), List.of(), env,
        "-storage-dir", tempDir("webrocket-pg-badauth-data").toString(), "-node-name", "bad",
        "-websocket-addr", "127.0.0.1:" + TestNode.freePort(), "-backend-addr", "127.0.0.1:" + TestNode.freePort(),
        "-admin-addr", "127.0.0.1:" + TestNode.freePort())) {
      assertEquals(1, child.awaitExit(60_000), child.describe());
      String err = child.stderr();
      assertTrue(err.contains("webrocket: cannot start: cannot use the PostgreSQL store " + PostgresServer.USER + "@127.0.0.1:" + pg.port + "/" + db), child.describe());
      assertTrue(err.contains("password authentication failed for user \"" + PostgresServer.USER + "\""), child.describe());
      assertFalse(child.describe().contains(wrong), "the password is never shown");
      assertFalse(child.describe().contains(PostgresServer.PASSWORD), "the password is never shown");
    }
  }

  @Test
  void changesAreAppliedInTheOrderTheyArriveThoughThePoolHasSeveralConnections() throws Exception {
    String db = pg.createDatabase();
    JsonObject conf = pg.nodeConfig(db);
    conf.getJsonObject("store").getJsonObject("postgres").put("poolSize", 8);
    try (TestNode n = TestNode.start(tempDir("webrocket-pg-order"), conf)) {
      Vertx vertx = n.node.vertx();
      StoreClient store = new StoreClient(vertx);
      // Random opens and closes of a few channels, all sent at once without waiting for replies
      // (as a registry does): applied out of order, a close would overtake its open.
      Random random = new Random(42);
      Set<String> expected = new TreeSet<>();
      List<Runnable> ops = new ArrayList<>();
      List<Future<?>> replies = new ArrayList<>();
      ops.add(() -> replies.add(store.putVhost("/order", "0123456789abcdef0123456789abcdef01234567")));
      for (int i = 0; i < 400; i++) {
        String channel = "c" + random.nextInt(4);
        boolean open = random.nextBoolean();
        if (open) {
          expected.add(channel);
          ops.add(() -> replies.add(store.putChannel("/order", channel)));
        } else {
          expected.remove(channel);
          ops.add(() -> replies.add(store.deleteChannel("/order", channel)));
        }
        String value = "v" + i;
        ops.add(() -> replies.add(store.putSetting("order", value)));
      }
      CompletableFuture<Void> sent = new CompletableFuture<>();
      vertx.runOnContext(x -> {
        ops.forEach(Runnable::run);
        sent.complete(null);
      });
      sent.get(30, TimeUnit.SECONDS);
      Future.all(new ArrayList<>(replies)).await(60, TimeUnit.SECONDS);
      // A read sees every change asked for before it.
      assertEquals("v399", store.getSetting("order").await(30, TimeUnit.SECONDS));
      VhostRecord order = store.loadAll().await(30, TimeUnit.SECONDS).stream()
          .filter(v -> v.path().equals("/order")).findFirst().orElseThrow();
      assertEquals(expected, new TreeSet<>(order.channels()));
      assertEquals(String.join("\n", expected),
          pg.psql(db, "SELECT name FROM channels WHERE vhost = '/order' ORDER BY name"));
      assertEquals("v399", pg.psql(db, "SELECT value FROM settings WHERE key = 'order:test'"));
    }
  }
}
