package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.config.Settings;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Starting a node: the 2012 command-line flags, configuration validation (file, environment,
 * {@code -D}), the data-directory lock, and declared vhosts. Real start-ups run {@code
 * WebRocket.main} in separate JVMs.
 */
class LauncherTest {
  private static Path tempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Settings.resolve with no file, env or properties beyond those given. */
  private static JsonObject resolve(JsonObject file, Map<String, String> env, Map<String, String> props, JsonObject flags) {
    return Settings.resolve(file, env, props, flags);
  }

  @Test
  void badConfigValueStopsTheRealMainWithTheKeyOnStderr() throws Exception {
    Path work = tempDir("webrocket-badconf");
    Path conf = work.resolve("bad.json");
    Files.writeString(conf, "{\"admin\": {\"port\": 99999}}");
    Path data = tempDir("webrocket-badconf-data");
    // Three separate JVMs at once: -D, environment, configuration file (flags: see config/CommandLineTest).
    List<ChildJvm> children = new ArrayList<>();
    try {
      children.add(ChildJvm.start(work, List.of("-Dwebrocket.websocket.port=70000"), Map.of(), "-storage-dir", data.toString()));
      children.add(ChildJvm.start(work, List.of(), Map.of("WEBROCKET_BACKEND_MAXMESSAGESIZE", "100"), "-storage-dir", data.toString()));
      children.add(ChildJvm.start(work, List.of(), Map.of(), "-config", conf.toString(), "-storage-dir", data.toString()));
      List<String> keys = List.of("websocket.port", "backend.maxMessageSize", "admin.port");
      for (int i = 0; i < children.size(); i++) {
        ChildJvm c = children.get(i);
        int status = c.awaitExit(30_000);
        assertNotEquals(0, status, c.describe());
        assertTrue(c.stderr().contains(keys.get(i)), "stderr should name " + keys.get(i) + "; " + c.describe());
        assertFalse(c.stdout().contains("is running"), c.describe());
      }
    } finally {
      children.forEach(ChildJvm::close);
    }
    // Refused before anything was written to the data directory's store.
    assertFalse(Files.exists(data.resolve("webrocket.db")));
  }

  // ------------------------------------------------------------- a real start

  @Test
  void aSeparateJvmStartsWithTheFlagsListensWhereToldAndPrintsTheBanner() throws Exception {
    Path work = tempDir("webrocket-launch-cwd");
    Path data = tempDir("webrocket-launch-data");
    int ws = TestNode.freePort();
    int be = TestNode.freePort();
    int ad = TestNode.freePort();
    try (ChildJvm node = ChildJvm.start(work, List.of(), Map.of(),
        "-websocket-addr", "127.0.0.1:" + ws, "--backend-addr=127.0.0.1:" + be, "-admin-addr=127.0.0.1:" + ad,
        "--node-name", "launched", "-storage-dir", data.toString())) {
      String cookie = node.awaitStarted();
      String out = node.stdout();
      assertTrue(cookie.matches("[0-9a-f]{40}"), out);
      // stdout is not a terminal here: the cookie is not printed, its file is named instead.
      assertFalse(out.contains(cookie), out);
      assertTrue(out.contains("launched.cookie"), out);
      assertTrue(out.contains("launched"), "node name; " + out);
      assertTrue(out.contains("ws://127.0.0.1:" + ws + "/"), "websocket URL; " + out);
      assertTrue(out.lines().anyMatch(l -> l.contains("wr://") && l.contains("@127.0.0.1:" + be + "/")), "backend URL; " + out);
      assertTrue(out.contains("http://127.0.0.1:" + ad + "/"), "admin URL; " + out);
      assertTrue(out.contains(data.toRealPath().toString()) || out.contains(data.toAbsolutePath().normalize().toString()), "data dir; " + out);
      assertEquals(cookie, Files.readString(data.resolve("launched.cookie")).trim());

      // It listens where told: admin with the printed cookie, then a browser and a backend.
      AdminClient admin = new AdminClient(ad, cookie);
      String token = admin.createVhost("/demo");
      admin.openChannel("/demo", "chat");
      try (WsClient browser = WsClient.connect(ws, "/demo"); WbpClient backend = WbpClient.connect(be)) {
        browser.subscribe("chat");
        assertEquals(List.of("OK", ""), backend.request(WbpClient.identity("req", "/demo", token), "BC", "chat", "hi", "{}"));
        assertEquals(new JsonObject().put("channel", "chat"), browser.expect("hi"));
      }
      // Not on the default ports (nothing of ours, at least: the admin port answers only where told).
      assertEquals(403, new AdminClient(ad, "0".repeat(40)).call("GET", "/").statusCode());

      // A second JVM on the same data directory refuses to start, saying why.
      try (ChildJvm second = ChildJvm.start(work, List.of(), Map.of(),
          "-websocket-addr", "127.0.0.1:" + TestNode.freePort(), "-backend-addr", "127.0.0.1:" + TestNode.freePort(),
          "-admin-addr", "127.0.0.1:" + TestNode.freePort(), "-node-name", "launched", "-storage-dir", data.toString())) {
        assertNotEquals(0, second.awaitExit(30_000), second.describe());
        assertTrue(second.stderr().contains("in use"), second.describe());
        assertTrue(second.stderr().contains(data.toAbsolutePath().toString()), "names the directory; " + second.describe());
      }
      // So does a node in this JVM.
      JsonObject config = resolve(new JsonObject().put("storageDir", data.toString()).put("host", "127.0.0.1")
          .put("websocket", new JsonObject().put("port", 0)).put("backend", new JsonObject().put("port", 0))
          .put("admin", new JsonObject().put("port", 0)).put("node", new JsonObject().put("name", "launched")), Map.of(), Map.of(), null);
      Throwable failure = assertThrows(Throwable.class, () -> Node.start(config).await());
      assertInstanceOf(Node.DataDirectoryInUseException.class, failure, failure.toString());
      // The refusals did not disturb the running node.
      assertTrue(node.isAlive());
      assertEquals(token, admin.token("/demo"));
      assertEquals(cookie, Files.readString(data.resolve("launched.cookie")).trim());
    }
  }

  // ------------------------------------------------------------- secrets on stdout

  @Test
  void secretsArePrintedOnlyWhenAskedSinceStdoutIsNotATerminal() throws Exception {
    for (boolean asked : new boolean[] {false, true}) {
      Path work = tempDir("webrocket-secrets-cwd");
      Path data = tempDir("webrocket-secrets-data");
      Files.writeString(work.resolve("node.json"), new JsonObject().put("vhosts", new JsonObject().put("/declared", new JsonObject())).encode());
      List<String> args = new java.util.ArrayList<>(List.of("-config", work.resolve("node.json").toString(),
          "-websocket-addr", "127.0.0.1:" + TestNode.freePort(), "-backend-addr", "127.0.0.1:" + TestNode.freePort(),
          "-admin-addr", "127.0.0.1:" + TestNode.freePort(), "-node-name", "secrets", "-storage-dir", data.toString()));
      if (asked) {
        args.add("-print-secrets");
      }
      try (ChildJvm node = ChildJvm.start(work, List.of(), Map.of(), args.toArray(new String[0]))) {
        String cookie = node.awaitStarted();
        String declared = node.awaitStdout(l -> l.startsWith("declared vhost /declared created"), 30_000);
        String out = node.stdout();
        assertEquals(asked, out.contains(cookie), out);
        assertEquals(asked, declared.matches(".*access token [0-9a-f]{40}$"), declared);
        assertEquals(asked, out.matches("(?s).*[0-9a-f]{40}.*"), "no secret at all on stdout unless asked; " + out);
      }
    }
  }

  // ------------------------------------------------------ data directory lock

  @Test
  void aSecondNodeOnTheSameDataDirectoryRefusesToStart() throws Exception {
    Path data = tempDir("webrocket-lock");
    Path work = tempDir("webrocket-lock-cwd");
    try (TestNode first = TestNode.start(data, new JsonObject())) {
      String token = first.createVhost("/mine");
      // In this JVM.
      for (int i = 0; i < 2; i++) {
        Throwable e = assertThrows(Throwable.class, () -> TestNode.start(data, new JsonObject()));
        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
        assertInstanceOf(Node.DataDirectoryInUseException.class, cause, e.toString());
        assertTrue(cause.getMessage().contains("in use") && cause.getMessage().contains(data.toAbsolutePath().toString()),
            cause.getMessage());
      }
      // A refusal in this JVM must not loosen the lock for other processes.
      try (ChildJvm other = ChildJvm.start(work, List.of(), Map.of(), "-storage-dir", data.toString(), "-node-name", "test",
          "-websocket-addr", "127.0.0.1:" + TestNode.freePort(), "-backend-addr", "127.0.0.1:" + TestNode.freePort(),
          "-admin-addr", "127.0.0.1:" + TestNode.freePort())) {
        int status = other.awaitExit(30_000);
        assertNotEquals(0, status, other.describe());
        assertTrue(other.stderr().contains("in use"), other.describe());
      }
      // The first node is unharmed.
      assertEquals(token, first.admin().token("/mine"));
    }
    // Once it has stopped, the directory can be used again.
    try (TestNode again = TestNode.start(data, new JsonObject())) {
      assertEquals(200, again.admin().call("GET", "/mine").statusCode());
    }
  }

  @Test
  void aStartThatFailsOnceVertxRunsFailsPromptlyAndReleasesTheDataDirectory() throws Exception {
    Path data = tempDir("webrocket-busy-port");
    try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      JsonObject taken = new JsonObject().put("admin", new JsonObject().put("port", busy.getLocalPort()));
      java.util.concurrent.CompletableFuture<Throwable> failed = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          TestNode.start(data, taken).close();
          return null;
        } catch (Throwable e) {
          return e;
        }
      });
      Throwable e = failed.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(e != null && String.valueOf(e.getMessage()).contains("in use"), String.valueOf(e));
    }
    try (TestNode again = TestNode.start(data, new JsonObject())) {
      assertEquals(200, again.admin().call("GET", "/", again.cookie()).statusCode());
    }
  }

  // ---------------------------------------------------------- declared vhosts

  @Test
  void declaredVhostsAndChannelsAreCreatedOnFirstStartAndKeepTheirTokens() {
    Path data = tempDir("webrocket-declared");
    JsonObject declared = new JsonObject().put("vhosts", new JsonObject()
        .put("/demo", new JsonObject().put("channels", new JsonArray().add("chat").add("presence-lobby")))
        .put("/bare", null)
        .put("/nested/path", new JsonObject().put("channels", new JsonArray().add("private-x"))));
    String demo;
    String bare;
    String nested;
    try (TestNode n = TestNode.start(data, declared)) {
      AdminClient a = n.admin();
      demo = a.token("/demo");
      bare = a.token("/bare");
      assertTrue(demo.matches("[0-9a-f]{40}") && bare.matches("[0-9a-f]{40}"));
      assertEquals(Set.of("chat", "presence-lobby"), channels(a, "/demo"));
      assertEquals(Set.of(), channels(a, "/bare"));
      nested = tokenOf(a, "/nested/path");
      assertEquals(List.of("OK", ""), request(n, "/nested/path", nested, "BC", "private-x", "e", "{}"));
      try (WsClient b = n.ws("/demo")) {
        b.subscribe("chat");
      }
      // Runtime changes: a declared channel closed, another opened, the token regenerated.
      assertEquals(202, a.call("DELETE", "/demo/channels/chat").statusCode());
      a.openChannel("/demo", "extra");
      assertEquals(302, a.call("PUT", "/bare/token").statusCode());
      bare = a.token("/bare");
    }
    // A later start with the same declaration (plus a new vhost): tokens are kept, declared
    // channels are open again, runtime additions stay, the new vhost appears.
    JsonObject more = declared.copy();
    more.getJsonObject("vhosts").put("/later", new JsonObject().put("channels", new JsonArray().add("news")));
    try (TestNode n = TestNode.start(data, more)) {
      AdminClient a = n.admin();
      assertEquals(demo, a.token("/demo"));
      assertEquals(bare, a.token("/bare"), "a regenerated token is kept, not reset");
      assertEquals(nested, tokenOf(a, "/nested/path"));
      assertEquals(Set.of("chat", "presence-lobby", "extra"), channels(a, "/demo"));
      assertEquals(Set.of("news"), channels(a, "/later"));
      assertEquals(List.of("OK", ""), request(n, "/demo", demo, "BC", "chat", "e", "{}"));
    }
    // A start without the declaration keeps what exists.
    try (TestNode n = TestNode.start(data, new JsonObject())) {
      assertEquals(demo, n.admin().token("/demo"));
      assertEquals(4, n.admin().json("/").getJsonArray("vhosts").size());
    }
  }

  private static Set<String> channels(AdminClient a, String vhost) {
    Set<String> names = new TreeSet<>();
    for (Object o : a.json(vhost + "/channels").getJsonArray("channels")) {
      names.add(((JsonObject) o).getString("name"));
    }
    return names;
  }

  /** A vhost's token from GET / (multi-segment paths have no single-segment admin route). */
  private static String tokenOf(AdminClient a, String path) {
    for (Object o : a.json("/").getJsonArray("vhosts")) {
      JsonObject v = (JsonObject) o;
      if (v.getString("path").equals(path)) {
        return v.getString("accessToken");
      }
    }
    throw new AssertionError(path + " not listed");
  }

  private static List<String> request(TestNode n, String vhost, String token, String... frames) {
    try (WbpClient c = n.wbp()) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }
}
