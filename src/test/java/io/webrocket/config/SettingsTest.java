package io.webrocket.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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
 * The settings parser without a node: the records the defaults make, every validation error
 * (the message names the key), the normal form the JSON and the records share, and a reload
 * that changes one section.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(30)
class SettingsTest {

  private static Settings load(JsonObject file) {
    return Settings.load(file, Map.of(), Map.of(), null);
  }

  /** A file with {@code value} at the dotted {@code path}. */
  private static JsonObject with(String path, Object value) {
    JsonObject file = new JsonObject();
    JsonObject at = file;
    String[] keys = path.split("\\.");
    for (int i = 0; i < keys.length - 1; i++) {
      JsonObject next = new JsonObject();
      at.put(keys[i], next);
      at = next;
    }
    at.put(keys[keys.length - 1], value);
    return file;
  }

  private static String invalid(JsonObject file) {
    return assertThrows(Settings.InvalidException.class, () -> load(file), file.encode()).getMessage();
  }

  private static void refused(String path, Object value, String key) {
    String message = invalid(with(path, value));
    assertTrue(message.startsWith(key + ": "), path + "=" + value + " gave: " + message);
  }

  // ------------------------------------------------------------- defaults

  @Test
  void theDefaultsMakeTheRecordsTheReadmeDocuments() {
    Settings s = load(new JsonObject());
    assertTrue(s.nodeName().matches("[\\w\\-]{1,64}"), s.nodeName());
    assertEquals("0.0.0.0", s.host());
    assertEquals("./data", s.storageDir());
    assertEquals("auto", s.transport());
    assertEquals(new WebSocketSettings("0.0.0.0", 8080, 65536, 25_000, 5_000, 262_144, 10_000, 10_000, 10_000, 0, List.of()),
        s.websocket());
    assertEquals(new BackendSettings("0.0.0.0", 8081, 65536, 1024, 262_144, 10_000, 256, 300_000, 500, 3_000, 0), s.backend());
    assertEquals(new AdminSettings("127.0.0.1", 8082, false, null), s.admin());
    assertEquals(new LimitsSettings(100, 200, 256, 100_000, 100_000, 1_000, 10_000, 200_000, 20_000, 10, 50, 1024, 100_000,
        10_000, 1_000), s.limits());
    assertEquals(new TlsSettings(null, null, null, List.of("TLSv1.2", "TLSv1.3"), List.of()), s.tls());
    assertFalse(s.tls().enabled());
    assertEquals(new ClusterSettings(false, "webrocket", "127.0.0.1", 5701, 0, "tcp",
        List.of("127.0.0.1:5701", "127.0.0.1:5702", "127.0.0.1:5703"), 1, 5_000, null, null, null, null), s.cluster());
    assertEquals(new StoreSettings("sqlite", false, new StoreSettings.Postgres("localhost", 5432, "webrocket", "webrocket", null, 4)),
        s.store());
    assertEquals(new LogSettings("INFO", "text", true, 256), s.log());
    assertEquals(300_000, s.tokenLifetimeMs());
    assertEquals(new RegistrySettings(300_000, 10_000), s.registry());
    assertEquals(10_000, s.shutdownTimeoutMs());
    assertEquals(2_000, s.reloadScanPeriodMs());
    assertEquals(Map.of(), s.vhosts());
  }

  @Test
  void theDefaultNodeNameIsLookedUpOncePerProcess() {
    // The lookup can block: a reload (on an event loop) reuses the first answer.
    assertSame(Settings.defaults().getJsonObject("node").getString("name"),
        Settings.defaults().getJsonObject("node").getString("name"));
  }

  @Test
  void theJsonThatTravelsParsesToTheSameRecords() {
    Settings s = load(new JsonObject()
        .put("host", "127.0.0.1")
        .put("websocket", new JsonObject().put("allowedOrigins", new JsonArray().add("https://a.example")))
        .put("tls", new JsonObject().put("cert", "c.pem").put("key", "k.pem").put("clientCa", " "))
        .put("cluster", new JsonObject().put("host", "").put("secret", ""))
        .put("vhosts", new JsonObject().putNull("/empty").put("/demo", new JsonObject()
            .put("channels", new JsonArray().add("chat")).put("origins", new JsonArray().add("https://b.example")))));
    JsonObject json = s.json();
    // Normalized once, in the records and in the JSON alike.
    assertEquals("127.0.0.1", s.websocket().host());
    assertEquals("127.0.0.1", json.getJsonObject("backend").getString("host"));
    assertNull(s.tls().clientCa());
    assertNull(json.getJsonObject("tls").getValue("clientCa"));
    assertEquals("auto", s.cluster().host());
    assertNull(json.getJsonObject("cluster").getValue("secret"));
    assertEquals(new VhostSettings(List.of(), null), s.vhosts().get("/empty"));
    assertEquals(new JsonObject(), json.getJsonObject("vhosts").getJsonObject("/empty"));
    assertEquals(new VhostSettings(List.of("chat"), List.of("https://b.example")), s.vhosts().get("/demo"));
    assertEquals(List.of("/empty", "/demo"), List.copyOf(s.vhosts().keySet()), "declaration order is kept");

    Settings again = Settings.parse(json);
    assertEquals(s.websocket(), again.websocket());
    assertEquals(s.backend(), again.backend());
    assertEquals(s.admin(), again.admin());
    assertEquals(s.limits(), again.limits());
    assertEquals(s.tls(), again.tls());
    assertEquals(s.cluster(), again.cluster());
    assertEquals(s.store(), again.store());
    assertEquals(s.log(), again.log());
    assertEquals(s.vhosts(), again.vhosts());
    assertEquals(s.registry(), RegistrySettings.of(json));
    assertEquals(s.tls(), TlsSettings.of(json.getJsonObject("tls")));
    // A settings value does not change with the JSON it handed out.
    json.getJsonObject("websocket").put("port", 1);
    assertEquals(8080, s.json().getJsonObject("websocket").getInteger("port"));
  }

  @Test
  void theChosenWebSocketPortReplacesPortZeroInTheRecordAndTheJson() {
    Settings s = load(with("websocket.port", 0)).withWebSocketPort(40_123);
    assertEquals(40_123, s.websocket().port());
    assertEquals(40_123, s.json().getJsonObject("websocket").getInteger("port"));
  }

  @Test
  void aTlsReloadMessageWithABlankClientCaAsksNoCertificate() {
    TlsSettings tls = TlsSettings.of(new JsonObject().put("cert", "c.pem").put("key", "k.pem").put("clientCa", "")
        .put("protocols", new JsonArray().add("TLSv1.3")).put("ciphers", new JsonArray()));
    assertTrue(tls.enabled());
    assertFalse(tls.hasClientCa());
    assertEquals(Tls.DEFAULT_CIPHERS, Tls.ciphers(tls));
  }

  @Test
  void secretsNeverShowInTheRecordsText() {
    String secret = "s3cret-s3cret-s3cret";
    String password = "pg-password-xyz";
    String cookie = "ab".repeat(20);
    Settings s = Settings.load(new JsonObject().put("admin", new JsonObject().put("cookie", cookie)),
        Map.of("WEBROCKET_CLUSTER_SECRET", secret, "WEBROCKET_STORE_POSTGRES_PASSWORD", password), Map.of(), null);
    assertEquals(secret, s.cluster().secret());
    assertEquals(password, s.store().postgres().password());
    assertEquals(cookie, s.admin().cookie());
    String text = s.cluster() + " " + s.store() + " " + s.admin();
    assertFalse(text.contains(secret), text);
    assertFalse(text.contains(password), text);
    assertFalse(text.contains(cookie), text);
  }

  // ------------------------------------------------------------- validation

  /** Every whole-number key with its bounds: one under and one over each is refused with this message. */
  @Test
  void everyNumberOutsideItsRangeIsRefusedNamingTheKeyAndTheRange() {
    Object[][] ranges = {
        {"websocket.port", 0L, 65535L},
        {"websocket.maxFrameSize", 1024L, 16L * 1024 * 1024},
        {"websocket.pingIntervalMs", 100L, 3_600_000L},
        {"websocket.triggerTimeoutMs", 10L, 600_000L},
        {"websocket.outboundQueueBytes", 4096L, 64L * 1024 * 1024},
        {"websocket.slowConsumerTimeoutMs", 10L, 3_600_000L},
        {"websocket.handshakeTimeoutMs", 100L, 600_000L},
        {"websocket.messageTimeoutMs", 100L, 600_000L},
        {"websocket.instances", 0L, 256L},
        {"backend.port", 0L, 65535L},
        {"backend.maxMessageSize", 16L * 1024, 64L * 1024 * 1024},
        {"backend.maxPipelined", 1L, 1_000_000L},
        {"backend.outboundQueueBytes", 4096L, 64L * 1024 * 1024},
        {"backend.messageTimeoutMs", 100L, 3_600_000L},
        {"backend.maxIdentityLength", 64L, 65_536L},
        {"backend.idleTimeoutMs", 1000L, 86_400_000L},
        {"backend.heartbeatIntervalMs", 50L, 1999L},
        {"backend.workerExpiryMs", 100L, 600_000L},
        {"backend.instances", 0L, 256L},
        {"admin.port", 0L, 65535L},
        {"tokens.lifetimeMs", 1000L, 30L * 86_400_000},
        {"store.postgres.port", 1L, 65535L},
        {"store.postgres.poolSize", 1L, 100L},
        {"cluster.port", 1L, 65535L},
        {"cluster.busPort", 0L, 65535L},
        {"cluster.minMembers", 1L, 1000L},
        {"cluster.failureDetectionMs", 1000L, 600_000L},
        {"shutdown.timeoutMs", 0L, 600_000L},
        {"reload.scanPeriodMs", 0L, 3_600_000L},
        {"log.maxFieldLength", 16L, 1_000_000L},
    };
    for (String limit : List.of("messagesPerSecond", "messagesBurst", "subscriptionsPerConnection", "connectionsPerNode",
        "connectionsPerVhost", "handshakesInFlight", "channelsPerVhost", "backendRequestsPerSecond", "backendRequestsBurst",
        "controlFramesPerSecond", "controlFramesBurst", "presenceDataBytes", "permissionMatchSteps",
        "backendConnectionsPerNode", "backendConnectionsUnidentified", "notAKnownLimit")) {
      assertEquals("limits." + limit + ": must be an integer from 1 to 100000000, got 0", invalid(with("limits." + limit, 0)));
      assertEquals("limits." + limit + ": must be an integer from 1 to 100000000, got 100000001",
          invalid(with("limits." + limit, 100_000_001)));
    }
    for (Object[] r : ranges) {
      String key = (String) r[0];
      long min = (Long) r[1];
      long max = (Long) r[2];
      String range = key + ": must be an integer from " + min + " to " + max + ", got ";
      assertEquals(range + (min - 1), invalid(with(key, min - 1)));
      assertEquals(range + (max + 1), invalid(with(key, max + 1)));
      assertEquals(range + "many", invalid(with(key, "many")));
      assertEquals(range + "1.5", invalid(with(key, 1.5)));
      // Both ends are allowed (a port of 0 or 1 may be taken or need root, but it parses).
      load(with(key, min));
      load(with(key, max));
    }
  }

  @Test
  void everyOtherBadValueIsRefusedNamingTheKey() {
    refused("node", "n1", "node.name");
    refused("node.name", "no spaces", "node.name");
    refused("node.name", "x".repeat(65), "node.name");
    refused("host", "", "host");
    refused("storageDir", " ", "storageDir");
    refused("transport", "dpdk", "transport");
    for (String section : List.of("websocket", "backend", "admin", "tokens", "store", "cluster", "limits", "shutdown",
        "reload", "log", "tls", "vhosts")) {
      assertEquals(section + ": must be an object", invalid(new JsonObject().put(section, 8080)));
    }
    refused("websocket.host", "", "websocket.host");
    refused("backend.host", 5, "backend.host");
    refused("websocket.allowedOrigins", "https://a.example", "websocket.allowedOrigins");
    refused("websocket.allowedOrigins", new JsonArray().add(""), "websocket.allowedOrigins");
    refused("admin.cookie", "short", "admin.cookie");
    refused("admin.cookie", "AB".repeat(20), "admin.cookie");
    refused("admin.metricsNeedCookie", "yes", "admin.metricsNeedCookie");
    refused("store.type", "mysql", "store.type");
    refused("store.fsync", "yes", "store.fsync");
    refused("store.postgres", "localhost", "store.postgres");
    refused("store.postgres.host", "", "store.postgres.host");
    refused("store.postgres.database", " ", "store.postgres.database");
    refused("store.postgres.user", 5, "store.postgres.user");
    refused("store.postgres.password", 123, "store.postgres.password");
    refused("cluster.enabled", "yes", "cluster.enabled");
    refused("cluster.name", "bad name", "cluster.name");
    refused("cluster.host", "10.*.x", "cluster.host");
    refused("cluster.host", 10, "cluster.host");
    refused("cluster.join", "gossip", "cluster.join");
    refused("cluster.members", "a:1", "cluster.members");
    refused("cluster.members", new JsonArray().add("a b"), "cluster.members");
    refused("cluster.members", new JsonArray(), "cluster.members");
    refused("cluster.secret", "tooshort", "cluster.secret");
    refused("cluster.secret", 1234567890123456789L, "cluster.secret");
    refused("cluster.tls", "on", "cluster.tls");
    refused("cluster.tls.cert", 5, "cluster.tls.cert");
    refused("cluster.tls.cert", "c.pem", "cluster.tls");
    refused("cluster.tls.ca", "ca.pem", "cluster.tls.ca");
    refused("log.level", "LOUD", "log.level");
    refused("log.format", "xml", "log.format");
    refused("log.access", "no", "log.access");
    refused("tls.cert", "c.pem", "tls");
    refused("tls.cert", 5, "tls.cert");
    refused("tls.protocols", new JsonArray(), "tls.protocols");
    refused("tls.protocols", new JsonArray().add("SSLv3"), "tls.protocols");
    refused("tls.ciphers", "TLS_AES_128_GCM_SHA256", "tls.ciphers");
    refused("tls.ciphers", new JsonArray().add("AES128-SHA"), "tls.ciphers");
    refused("vhosts.no-slash", new JsonObject(), "vhosts.no-slash");
    refused("vhosts./metrics", new JsonObject(), "vhosts./metrics");
    refused("vhosts./demo", "chat", "vhosts./demo");
    refused("vhosts./demo.channels", "chat", "vhosts./demo.channels");
    refused("vhosts./demo.channels", new JsonArray().add("ok").add(".bad"), "vhosts./demo.channels");
    refused("vhosts./demo.origins", "https://a.example", "vhosts./demo.origins");
  }

  @Test
  void secretsNeverShowInAnError() {
    String m = invalid(with("cluster.secret", "tooshort-xyz"));
    assertFalse(m.contains("tooshort-xyz"), m);
    m = invalid(new JsonObject().put("store", new JsonObject().put("postgres", new JsonObject().put("password", 123456789))));
    assertFalse(m.contains("123456789"), m);
    m = invalid(with("admin.cookie", "not-a-cookie-value"));
    assertFalse(m.contains("not-a-cookie-value"), m);
  }

  // ------------------------------------------------------------- reload

  @Test
  void aReloadThatChangesOneSectionChangesOnlyThatRecord() {
    JsonObject file = new JsonObject()
        .put("limits", new JsonObject().put("messagesPerSecond", 50))
        .put("vhosts", new JsonObject().put("/live", new JsonObject().put("channels", new JsonArray().add("chat"))));
    Settings before = load(file);
    JsonObject edited = file.copy();
    edited.getJsonObject("limits").put("messagesPerSecond", 5).put("channelsPerVhost", 3);
    edited.put("tokens", new JsonObject().put("lifetimeMs", 1000));
    edited.getJsonObject("vhosts").put("/added", new JsonObject());
    // As the Reloader does: parse the edit once, publish its JSON; each verticle parses that.
    Settings after = Settings.parse(load(edited).json());

    assertEquals(50, before.limits().messagesPerSecond());
    assertEquals(5, after.limits().messagesPerSecond());
    assertEquals(new RegistrySettings(1000, 3), after.registry());
    assertEquals(new RegistrySettings(300_000, 10_000), before.registry());
    assertEquals(List.of("/live", "/added"), List.copyOf(after.vhosts().keySet()));
    assertNotEquals(before.limits(), after.limits());
    assertEquals(before.websocket(), after.websocket());
    assertEquals(before.backend(), after.backend());
    assertEquals(before.tls(), after.tls());
    assertEquals(before.cluster(), after.cluster());
    assertEquals(before.store(), after.store());
    assertEquals(before.log(), after.log());
  }

  @Test
  void anInvalidReloadIsRefusedWholeNamingTheKey() {
    JsonObject edit = with("websocket.maxFrameSize", "huge").put("vhosts", new JsonObject().put("/never", new JsonObject()));
    assertTrue(invalid(edit).startsWith("websocket.maxFrameSize: "));
  }
}
