package io.webrocket.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The command line (the 2012 flags) and how flags, environment, system properties and the file
 * resolve into one configuration, without starting anything (moved from LauncherTest, which
 * starts real JVMs and nodes).
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(30)
class CommandLineTest {
  private static JsonObject flags(String... args) {
    CommandLine.Parsed p = CommandLine.parse(args);
    assertFalse(p.help());
    return p.flags();
  }

  private static JsonObject addr(String host, int port) {
    return new JsonObject().put("host", host).put("port", port);
  }

  /** Settings.resolve with no file, env or properties beyond those given. */
  private static JsonObject resolve(JsonObject file, Map<String, String> env, Map<String, String> props, JsonObject flags) {
    return Settings.resolve(file, env, props, flags);
  }

  private static JsonObject sub(JsonObject o, String... keys) {
    JsonObject r = new JsonObject();
    for (String k : keys) {
      r.put(k, o.getValue(k));
    }
    return r;
  }

  private static String invalidKey(Runnable r) {
    Settings.InvalidException e = assertThrows(Settings.InvalidException.class, r::run);
    return e.getMessage();
  }

  @Test
  void theTwentyTwelveFlagsParseInEverySpelling() {
    for (String[] args : List.of(
        new String[] {"-websocket-addr", "127.0.0.2:9000"},
        new String[] {"--websocket-addr", "127.0.0.2:9000"},
        new String[] {"-websocket-addr=127.0.0.2:9000"},
        new String[] {"--websocket-addr=127.0.0.2:9000"})) {
      assertEquals(new JsonObject().put("websocket", addr("127.0.0.2", 9000)), flags(args), String.join(" ", args));
    }
    JsonObject all = flags(
        "-websocket-addr", "1.2.3.4:1", "--backend-addr=5.6.7.8:2", "-admin-addr=localhost:3", "--node-name", "n1",
        "-storage-dir=/var/lib/webrocket", "--cert", "c.pem", "-key=k.pem");
    assertEquals(new JsonObject()
        .put("websocket", addr("1.2.3.4", 1))
        .put("backend", addr("5.6.7.8", 2))
        .put("admin", addr("localhost", 3))
        .put("node", new JsonObject().put("name", "n1"))
        .put("storageDir", "/var/lib/webrocket")
        .put("tls", new JsonObject().put("cert", "c.pem").put("key", "k.pem")), all);
    // ":PORT" is every interface; IPv6 hosts come in brackets.
    assertEquals(addr("0.0.0.0", 8088), flags("-backend-addr", ":8088").getJsonObject("backend"));
    assertEquals(addr("::1", 8089), flags("-admin-addr", "[::1]:8089").getJsonObject("admin"));
    // The configuration file flag, and help.
    assertEquals("my.json", CommandLine.parse(new String[] {"-config", "my.json"}).configFile());
    assertEquals("my.json", CommandLine.parse(new String[] {"--config=my.json"}).configFile());
    assertNull(CommandLine.parse(new String[] {}).configFile());
    for (String h : List.of("-help", "--help", "-h")) {
      assertTrue(CommandLine.parse(new String[] {h}).help(), h);
    }
    // The last of a repeated flag wins.
    assertEquals(addr("127.0.0.1", 2), flags("-admin-addr", "127.0.0.1:1", "-admin-addr", "127.0.0.1:2").getJsonObject("admin"));
  }

  @Test
  void badCommandLinesAreRefusedWithAMessage() {
    for (String[] args : List.of(
        new String[] {"-no-such-flag", "x"},
        new String[] {"-websocket-addr"},
        new String[] {"-websocket-addr", "8080"},
        new String[] {"-backend-addr", "host:port"},
        new String[] {"--admin-addr=127.0.0.1:"},
        new String[] {"stray"},
        new String[] {"-node-name"})) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommandLine.parse(args), String.join(" ", args));
      assertFalse(e.getMessage().isBlank());
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CommandLine.parse(new String[] {"-bogus=1"}))
        .getMessage().contains("bogus"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> CommandLine.parse(new String[] {"-websocket-addr", "x:y"}))
        .getMessage().contains("websocket"));
  }

  @Test
  void flagsReachTheResolvedConfiguration() {
    JsonObject c = resolve(new JsonObject(), Map.of(), Map.of(),
        flags("-websocket-addr", "127.0.0.1:9100", "--backend-addr=:9101", "-admin-addr=127.0.0.3:9102", "-node-name", "edge-1",
            "-storage-dir", "/tmp/x"));
    assertEquals(addr("127.0.0.1", 9100), sub(c.getJsonObject("websocket"), "host", "port"));
    assertEquals(addr("0.0.0.0", 9101), sub(c.getJsonObject("backend"), "host", "port"));
    assertEquals(addr("127.0.0.3", 9102), sub(c.getJsonObject("admin"), "host", "port"));
    assertEquals("edge-1", c.getJsonObject("node").getString("name"));
    assertEquals("/tmp/x", c.getString("storageDir"));
    // The rest keeps its defaults.
    assertEquals(65536, c.getJsonObject("websocket").getInteger("maxFrameSize"));
  }

  @Test
  void environmentAndSystemPropertiesOverrideTheFileAndFlagsOverrideBoth() {
    JsonObject file = new JsonObject()
        .put("websocket", new JsonObject().put("port", 7000).put("maxFrameSize", 2048))
        .put("backend", new JsonObject().put("port", 7001))
        .put("node", new JsonObject().put("name", "from-file"));
    // Environment over the file.
    JsonObject c = resolve(file, Map.of("WEBROCKET_WEBSOCKET_PORT", "7100", "WEBROCKET_NODE_NAME", "from-env",
        "WEBROCKET_STORE_FSYNC", "true", "WEBROCKET_BACKEND_IDLETIMEOUTMS", "60000", "WEBROCKET_HOST", "127.0.0.9"), Map.of(), null);
    assertEquals(7100, c.getJsonObject("websocket").getInteger("port"));
    assertEquals(2048, c.getJsonObject("websocket").getInteger("maxFrameSize"), "untouched file values stay");
    assertEquals("from-env", c.getJsonObject("node").getString("name"));
    assertEquals(true, c.getJsonObject("store").getBoolean("fsync"));
    assertEquals(60000L, c.getJsonObject("backend").getLong("idleTimeoutMs"));
    assertEquals("127.0.0.9", c.getJsonObject("websocket").getString("host"), "host applies to endpoints without their own");
    // -D over the environment.
    c = resolve(file, Map.of("WEBROCKET_WEBSOCKET_PORT", "7100"),
        Map.of("webrocket.websocket.port", "7200", "webrocket.tokens.lifetimeMs", "5000", "unrelated.websocket.port", "1"), null);
    assertEquals(7200, c.getJsonObject("websocket").getInteger("port"));
    assertEquals(5000L, c.getJsonObject("tokens").getLong("lifetimeMs"));
    assertEquals(7001, c.getJsonObject("backend").getInteger("port"));
    // Command-line flags over everything.
    c = resolve(file, Map.of("WEBROCKET_WEBSOCKET_PORT", "7100"), Map.of("webrocket.websocket.port", "7200"),
        flags("-websocket-addr", "127.0.0.1:7300"));
    assertEquals(7300, c.getJsonObject("websocket").getInteger("port"));
    // Variables of other programs are ignored.
    c = resolve(new JsonObject(), Map.of("WEBSOCKET_PORT", "1", "PORT", "2"), Map.of(), null);
    assertEquals(8080, c.getJsonObject("websocket").getInteger("port"));
  }

  @Test
  void badConfigValuesAreRefusedWithAMessageNamingTheKey() {
    JsonObject none = new JsonObject();
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("websocket", new JsonObject().put("port", 70000)), Map.of(), Map.of(), null))
        .startsWith("websocket.port"));
    assertTrue(invalidKey(() -> resolve(none, Map.of("WEBROCKET_BACKEND_PORT", "eighty"), Map.of(), null)).startsWith("backend.port"));
    assertTrue(invalidKey(() -> resolve(none, Map.of(), Map.of("webrocket.admin.port", "-1"), null)).startsWith("admin.port"));
    assertTrue(invalidKey(() -> resolve(none, Map.of(), Map.of(), flags("-websocket-addr", "127.0.0.1:65536")))
        .startsWith("websocket.port"));
    assertTrue(invalidKey(() -> resolve(none, Map.of("WEBROCKET_TRANSPORT", "dpdk"), Map.of(), null)).startsWith("transport"));
    assertTrue(invalidKey(() -> resolve(none, Map.of("WEBROCKET_WEBSOCKET_MAXFRAMESIZE", "10"), Map.of(), null))
        .startsWith("websocket.maxFrameSize"));
    assertTrue(invalidKey(() -> resolve(none, Map.of(), Map.of("webrocket.backend.maxMessageSize", "1024"), null))
        .startsWith("backend.maxMessageSize"), "WBP: never less than 16 KiB");
    assertTrue(invalidKey(() -> resolve(none, Map.of(), Map.of("webrocket.backend.heartbeatIntervalMs", "2000"), null))
        .startsWith("backend.heartbeatIntervalMs"), "WBP: well under 2 s");
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("node", new JsonObject().put("name", "no spaces")), Map.of(), Map.of(), null))
        .startsWith("node.name"));
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("tokens", new JsonObject().put("lifetimeMs", "soon")), Map.of(), Map.of(), null))
        .startsWith("tokens.lifetimeMs"));
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("websocket", "8080"), Map.of(), Map.of(), null)).startsWith("websocket"));
    assertTrue(invalidKey(() -> resolve(none, Map.of(), Map.of(), flags("-cert", "c.pem"))).startsWith("tls"));
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("storageDir", ""), Map.of(), Map.of(), null)).startsWith("storageDir"));
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("vhosts", new JsonObject().put("no-slash", new JsonObject())), Map.of(), Map.of(), null))
        .startsWith("vhosts.no-slash"));
    assertTrue(invalidKey(() -> resolve(new JsonObject().put("vhosts", new JsonObject().put("/demo",
        new JsonObject().put("channels", new JsonArray().add("ok").add(".bad")))), Map.of(), Map.of(), null))
        .startsWith("vhosts./demo.channels"));
  }
}
