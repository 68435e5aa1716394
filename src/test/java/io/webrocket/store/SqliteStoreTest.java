package io.webrocket.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The embedded store through the {@link StoreVerticle} on a real SQLite file, without a node:
 * its calls leave the event loop free while SQLite waits, and every acknowledged change is
 * committed (visible to another connection at once, and after a reopen) — also after a
 * transaction ({@code loadAll}, the schema) ran on the same connection.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqliteStoreTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef01234567";

  private Vertx vertx;
  private Path file;

  @BeforeEach
  void start() throws Exception {
    // One event loop: every context (the store verticle's, the caller's) runs on the same thread,
    // so a store call that blocked it would hold up everything else.
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    file = Files.createTempDirectory("webrocket-sqlite-store").resolve("webrocket.db");
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  private String deploy() throws Exception {
    return vertx.deployVerticle(StoreVerticle.sqlite(file, false, "sqlite-store-test")).await(30, TimeUnit.SECONDS);
  }

  /** Another connection to the file, as {@code sqlite3} would open it: sees only committed rows. */
  private String query(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      StringBuilder out = new StringBuilder();
      while (r.next()) {
        out.append(out.length() == 0 ? "" : ",").append(r.getString(1));
      }
      return out.toString();
    }
  }

  @Test
  void everyAcknowledgedChangeIsCommittedAlsoAfterATransactionOnTheConnection() throws Exception {
    deploy();
    StoreClient store = new StoreClient(vertx);
    store.putVhost("/a", TOKEN).await(30, TimeUnit.SECONDS);
    assertEquals(List.of(new VhostRecord("/a", TOKEN, List.of(), List.of())), store.loadAll().await(30, TimeUnit.SECONDS));
    // After loadAll's transaction: vertx-jdbc-client 5.0.7's Pool.withTransaction would have left
    // the connection in manual-commit mode, and these would stay uncommitted.
    store.putChannel("/a", "chat").await(30, TimeUnit.SECONDS);
    store.putSetting("cookie", "c1").await(30, TimeUnit.SECONDS);
    long later = System.currentTimeMillis() + 600_000;
    store.putAccessToken("/a", new AccessTokenRecord("t1", "alice", ".*", later)).await(30, TimeUnit.SECONDS);
    store.putAccessToken("/a", new AccessTokenRecord("t0", "bob", ".*", 1)).await(30, TimeUnit.SECONDS);
    assertEquals("chat", query("SELECT name FROM channels"));
    assertEquals("c1", query("SELECT value FROM settings WHERE key = 'cookie'"), "plain keys: the file is this node's alone");
    assertEquals("t0,t1", query("SELECT token FROM access_tokens ORDER BY token"));

    // Upserts replace; a second open of a channel is no error.
    store.putVhost("/a", TOKEN.replace('0', 'f')).await(30, TimeUnit.SECONDS);
    store.putChannel("/a", "chat").await(30, TimeUnit.SECONDS);
    store.putSetting("cookie", "c2").await(30, TimeUnit.SECONDS);

    vertx.close().await(30, TimeUnit.SECONDS);
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    deploy();
    store = new StoreClient(vertx);
    List<VhostRecord> all = store.loadAll().await(30, TimeUnit.SECONDS);
    assertEquals(List.of(new VhostRecord("/a", TOKEN.replace('0', 'f'), List.of("chat"),
        List.of(new AccessTokenRecord("t1", "alice", ".*", later)))), all, "the expired token is left out");
    assertEquals("c2", store.getSetting("cookie").await(30, TimeUnit.SECONDS));
    assertNull(store.getSetting("other").await(30, TimeUnit.SECONDS));
    store.deleteVhost("/a").await(30, TimeUnit.SECONDS);
    assertEquals("", query("SELECT name FROM channels"), "channels go with their vhost (foreign keys on)");
    assertEquals("", query("SELECT token FROM access_tokens"));
  }

  /** The history rules set through WARI: kept per vhost, replaced, removed, and gone with their vhost. */
  @Test
  void historyRulesAreKeptPerVhostAndGoWithIt() throws Exception {
    deploy();
    StoreClient store = new StoreClient(vertx);
    store.putVhost("/a", TOKEN).await(30, TimeUnit.SECONDS);
    store.putVhost("/b", TOKEN).await(30, TimeUnit.SECONDS);
    store.putHistoryRules("/a", "{\"x\":{\"size\":1}}").await(30, TimeUnit.SECONDS);
    store.putHistoryRules("/a", "{\"y\":{\"size\":2}}").await(30, TimeUnit.SECONDS);
    store.putHistoryRules("/b", "{\"z\":{\"size\":3}}").await(30, TimeUnit.SECONDS);
    assertEquals(java.util.Map.of("/a", "{\"y\":{\"size\":2}}", "/b", "{\"z\":{\"size\":3}}"),
        store.historyRules().await(30, TimeUnit.SECONDS));
    store.putHistoryRules("/b", null).await(30, TimeUnit.SECONDS);
    store.deleteVhost("/a").await(30, TimeUnit.SECONDS);
    assertEquals(java.util.Map.of(), store.historyRules().await(30, TimeUnit.SECONDS));
    assertEquals("", query("SELECT vhost FROM history_rules"), "committed");
  }

  @Test
  void whileSqliteWaitsForALockTheEventLoopGoesOn() throws Exception {
    deploy();
    StoreClient store = new StoreClient(vertx);
    store.putVhost("/a", TOKEN).await(30, TimeUnit.SECONDS);
    Context loop = vertx.getOrCreateContext();
    try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = other.createStatement()) {
      // Another process (a backup, the sqlite3 shell) holds the write lock: the store's write
      // waits for it (busy timeout 5 s) on a worker thread.
      s.execute("BEGIN IMMEDIATE");
      CompletableFuture<Future<Void>> write = new CompletableFuture<>();
      loop.runOnContext(x -> write.complete(store.putChannel("/a", "chat")));
      Future<Void> pending = write.get(10, TimeUnit.SECONDS);
      // The one event loop still runs tasks while the write waits: the request's delivery to the
      // store verticle was queued on it before this probe, so a store that ran SQLite on the
      // event loop would hold the probe back until the lock is released.
      CompletableFuture<Boolean> probe = new CompletableFuture<>();
      loop.runOnContext(x -> probe.complete(pending.isComplete()));
      assertFalse(probe.get(3, TimeUnit.SECONDS), "the probe ran while the write was still waiting for the lock");
      s.execute("COMMIT");
      pending.await(30, TimeUnit.SECONDS);
    }
    assertEquals("chat", query("SELECT name FROM channels"));
  }

  @Test
  void theDatabaseFileIsCreatedPrivate() throws Exception {
    deploy();
    new StoreClient(vertx).putVhost("/a", TOKEN).await(30, TimeUnit.SECONDS);
    for (String name : List.of("webrocket.db", "webrocket.db-wal", "webrocket.db-shm")) {
      Path f = file.resolveSibling(name);
      assertTrue(Files.exists(f), name);
      assertEquals(DataDirectory.FILE, Files.getPosixFilePermissions(f), name);
    }
  }
}
