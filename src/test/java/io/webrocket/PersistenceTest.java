package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import io.webrocket.test.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * What the node keeps across restarts: vhosts, tokens, channels, unexpired unused single access
 * tokens and the admin cookie — after a clean stop and after {@code kill -9} of a separate JVM.
 *
 * <p>Here with the embedded store; {@link PostgresPersistenceTest} runs the same tests against
 * PostgreSQL by overriding {@link #store()} and {@link #storeEnv()}.
 */
class PersistenceTest {

  /** Merged into every node's configuration: which store to use (here the default, embedded one). */
  JsonObject store() {
    return new JsonObject();
  }

  /** The same for a node in a separate JVM, as environment variables. */
  Map<String, String> storeEnv() {
    return Map.of();
  }

  /** A node on {@code dir} with the store of {@link #store()} and {@code overrides}. */
  private TestNode start(Path dir, JsonObject overrides) {
    return TestNode.start(dir, store().mergeIn(overrides, true));
  }

  private static Path tempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** path -> token, as GET / lists them. */
  static Map<String, String> vhosts(AdminClient admin) {
    Map<String, String> m = new HashMap<>();
    for (Object o : admin.json("/").getJsonArray("vhosts")) {
      JsonObject v = (JsonObject) o;
      m.put(v.getString("path"), v.getString("accessToken"));
    }
    return m;
  }

  static Set<String> channels(AdminClient admin, String vhost) {
    Set<String> names = new TreeSet<>();
    for (Object o : admin.json(vhost + "/channels").getJsonArray("channels")) {
      names.add(((JsonObject) o).getString("name"));
    }
    return names;
  }

  static List<String> backend(int port, String vhost, String token, String... frames) {
    try (WbpClient c = WbpClient.connect(port)) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private static String accessToken(int port, String vhost, String token, String uid) {
    List<String> r = backend(port, vhost, token, "AT", uid, ".*");
    assertEquals("AT", r.get(0), r.toString());
    assertTrue(r.get(1).matches("[0-9a-f]{128}"), r.toString());
    return r.get(1);
  }

  /** A browser on {@code vhost} sends {@code auth}; returns the reply's event name. */
  private static String auth(TestNode n, String vhost, String token) {
    try (WsClient b = n.ws(vhost)) {
      b.send("auth", new JsonObject().put("token", token));
      JsonObject reply = b.next();
      if (reply.containsKey(":error")) {
        return ":error " + reply.getJsonObject(":error").getInteger("code");
      }
      return reply.fieldNames().iterator().next();
    }
  }

  @Test
  void vhostsTokensAndChannelsSurviveARestart() {
    Path dir = tempDir("webrocket-persist");
    Map<String, String> before;
    try (TestNode n = start(dir, new JsonObject())) {
      AdminClient a = n.admin();
      String t1 = a.createVhost("/p1");
      String t2 = a.createVhost("/p2");
      a.createVhost("/gone");
      a.openChannel("/p1", "chat");
      a.openChannel("/p1", "presence-room");
      a.openChannel("/p1", "closed-later");
      assertEquals(List.of("OK", ""), backend(n.backendPort, "/p2", t2, "OC", "private-news"));
      assertEquals(List.of("OK", ""), backend(n.backendPort, "/p1", t1, "OC", "by-backend"));
      assertEquals(302, a.call("PUT", "/p2/token").statusCode());
      assertEquals(202, a.call("DELETE", "/gone").statusCode());
      assertEquals(202, a.call("DELETE", "/p1/channels/closed-later").statusCode());
      assertEquals(List.of("OK", ""), backend(n.backendPort, "/p1", t1, "CC", "by-backend"));
      before = vhosts(a);
      assertNotEquals(t2, before.get("/p2"));
    }
    try (TestNode n = start(dir, new JsonObject())) {
      AdminClient a = n.admin();
      assertEquals(before, vhosts(a));
      assertEquals(Set.of("/p1", "/p2"), vhosts(a).keySet());
      assertEquals(new TreeSet<>(Set.of("chat", "presence-room")), channels(a, "/p1"));
      assertEquals(new TreeSet<>(Set.of("private-news")), channels(a, "/p2"));
      // The restored state works, not just lists: tokens authenticate, channels take subscribers.
      try (WsClient browser = n.ws("/p1")) {
        browser.subscribe("chat");
        assertEquals(List.of("OK", ""), backend(n.backendPort, "/p1", before.get("/p1"), "BC", "chat", "hello", "{}"));
        assertEquals(new JsonObject().put("channel", "chat"), browser.expect("hello"));
      }
      assertEquals(List.of("ER", "454"), backend(n.backendPort, "/p1", before.get("/p1"), "BC", "closed-later", "e", "{}"));
      assertEquals(List.of("OK", ""), backend(n.backendPort, "/p2", before.get("/p2"), "BC", "private-news", "e", "{}"));
      assertEquals(404, a.call("GET", "/gone").statusCode());
    }
  }

  @Test
  void unusedAccessTokensSurviveARestartAndUsedOnesStayUsed() {
    Path dir = tempDir("webrocket-tokens");
    String unused;
    String used;
    try (TestNode n = start(dir, new JsonObject())) {
      String token = n.createVhost("/app");
      unused = accessToken(n.backendPort, "/app", token, "alice");
      used = accessToken(n.backendPort, "/app", token, "bob");
      assertEquals(":authenticated", auth(n, "/app", used));
    }
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(":error 402", auth(n, "/app", used), "a token used before the restart stays used");
      assertEquals(":authenticated", auth(n, "/app", unused));
      assertEquals(":error 402", auth(n, "/app", unused), "single use after the restart too");
    }
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(":error 402", auth(n, "/app", unused), "used after the first restart, still used after the second");
    }
  }

  @Test
  void expiredAccessTokensDoNotComeBack() throws Exception {
    Path dir = tempDir("webrocket-expiry");
    JsonObject shortLived = new JsonObject().put("tokens", new JsonObject().put("lifetimeMs", 1000));
    String token;
    long issued;
    try (TestNode n = start(dir, shortLived)) {
      String vt = n.createVhost("/app");
      issued = System.currentTimeMillis();
      token = accessToken(n.backendPort, "/app", vt, "carol");
    }
    // Pacing: the token (lifetime 1 s) expires while no node runs.
    Await.pause(Math.max(0, issued + 1200 - System.currentTimeMillis()));
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(":error 402", auth(n, "/app", token));
    }
  }

  @Test
  void adminCookieSurvivesRestartsAndItsFileIsPrivate() throws Exception {
    Path dir = tempDir("webrocket-cookie");
    Path file = dir.resolve("test.cookie");
    String cookie;
    try (TestNode n = start(dir, new JsonObject())) {
      cookie = n.cookie();
      assertTrue(cookie.matches("[0-9a-f]{40}"), cookie);
      assertEquals(cookie, Files.readString(file, StandardCharsets.UTF_8).trim());
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
      n.createVhost("/kept");
    }
    // Someone loosened the file's mode: the next start makes it private again.
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(cookie, n.cookie());
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
      // The old cookie opens the new node's admin API.
      assertEquals(200, new AdminClient(n.adminPort, cookie).call("GET", "/kept").statusCode());
    }
    // The file is gone: the cookie lives in the store and the file is written again.
    Files.delete(file);
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(cookie, n.cookie());
      assertEquals(cookie, Files.readString(file, StandardCharsets.UTF_8).trim());
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
    }
  }

  @Test
  void aCookieFileAnOperatorPutThereIsAdoptedOnFirstStart() throws Exception {
    Path dir = tempDir("webrocket-operator-cookie");
    String chosen = "0123456789abcdef0123456789abcdef01234567";
    Path file = dir.resolve("test.cookie");
    Files.writeString(file, chosen + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));
    try (TestNode n = start(dir, new JsonObject())) {
      assertEquals(chosen, n.cookie());
      assertEquals(200, new AdminClient(n.adminPort, chosen).call("GET", "/").statusCode());
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
    }
    // Not a cookie (wrong form): a fresh one is generated and replaces the file.
    Path other = tempDir("webrocket-operator-cookie-bad");
    Files.writeString(other.resolve("test.cookie"), "letmein\n");
    try (TestNode n = start(other, new JsonObject())) {
      assertTrue(n.cookie().matches("[0-9a-f]{40}"));
      assertEquals(n.cookie(), Files.readString(other.resolve("test.cookie")).trim());
    }
  }

  @Test
  void everythingAcknowledgedSurvivesKillMinus9() throws Exception {
    Path dir = tempDir("webrocket-kill");
    Path work = tempDir("webrocket-kill-cwd");
    int ws = TestNode.freePort();
    int be = TestNode.freePort();
    int ad = TestNode.freePort();
    String cookie;
    Map<String, String> tokens;
    List<String> piped = new ArrayList<>();
    String unusedAccess;
    String lastAccess;
    try (ChildJvm child = ChildJvm.start(work, List.of(), storeEnv(),
        "-storage-dir", dir.toString(), "-node-name", "kill",
        "-websocket-addr", "127.0.0.1:" + ws, "-backend-addr", "127.0.0.1:" + be, "-admin-addr", "127.0.0.1:" + ad)) {
      cookie = child.awaitStarted();
      AdminClient a = new AdminClient(ad, cookie);
      String k1 = a.createVhost("/k1");
      a.createVhost("/k2");
      a.createVhost("/k3");
      a.openChannel("/k1", "a");
      a.openChannel("/k1", "b");
      assertEquals(302, a.call("PUT", "/k2/token").statusCode());
      String k2 = a.token("/k2");
      assertEquals(202, a.call("DELETE", "/k3").statusCode());
      assertEquals(202, a.call("DELETE", "/k1/channels/b").statusCode());
      unusedAccess = accessToken(be, "/k1", k1, "dave");
      // A burst of pipelined requests on one persistent connection; the kill follows the last OK.
      try (WbpClient c = WbpClient.connect(be)) {
        assertEquals(List.of("OK", ""), c.request(WbpClient.identity("req", "/k2", k2), "KA"));
        StringBuilder burst = new StringBuilder();
        for (int i = 0; i < 50; i++) {
          piped.add("piped-" + i);
          burst.append(WbpClient.message(null, "OC", "piped-" + i));
        }
        burst.append(WbpClient.message(null, "AT", "erin", "piped-.*"));
        c.write(burst.toString());
        for (int i = 0; i < 50; i++) {
          assertEquals(List.of("OK", ""), c.read(), "reply " + i);
        }
        List<String> at = c.read();
        assertEquals("AT", at.get(0));
        lastAccess = at.get(1);
        child.kill(); // SIGKILL right after the last acknowledgement
      }
      assertFalse(child.isAlive());
      tokens = Map.of("/k1", k1, "/k2", k2);
    }
    assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(dir.resolve("kill.cookie")));
    assertEquals(cookie, Files.readString(dir.resolve("kill.cookie")).trim());

    try (TestNode n = start(dir, new JsonObject().put("node", new JsonObject().put("name", "kill")))) {
      assertEquals(cookie, n.cookie());
      AdminClient a = n.admin();
      assertEquals(tokens, vhosts(a));
      assertEquals(new TreeSet<>(Set.of("a")), channels(a, "/k1"));
      assertEquals(new TreeSet<>(piped), channels(a, "/k2"));
      assertEquals(":authenticated", auth(n, "/k1", unusedAccess));
      try (WsClient b = n.ws("/k2")) {
        b.auth(lastAccess);
        b.send("subscribe", new JsonObject().put("channel", "piped-49"));
        assertEquals("piped-49", b.expect(":subscribed").getString("channel"));
      }
      assertEquals(List.of("OK", ""), backend(n.backendPort, "/k2", tokens.get("/k2"), "BC", "piped-0", "e", "{}"));
      assertEquals(404, a.call("GET", "/k3").statusCode());
    }
  }
}
