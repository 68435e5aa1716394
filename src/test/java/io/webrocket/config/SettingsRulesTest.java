package io.webrocket.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Defaults and validation rules of the settings that need no node (moved here from the socket tests of their areas). */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(30)
class SettingsRulesTest {
  @Test
  void tokenLifetimeDefaultsToFiveMinutes() {
    assertEquals(300_000L, Settings.defaults().getJsonObject("tokens").getLong("lifetimeMs"));
  }

  @Test
  void defaultIdleTimeIsFiveMinutes() {
    assertEquals(300_000L, Settings.defaults().getJsonObject("backend").getLong("idleTimeoutMs"));
  }

  @Test
  void sizeLimitIsNeverLessThan16KiB() {
    JsonObject file = new JsonObject().put("backend", new JsonObject().put("maxMessageSize", 16 * 1024 - 1));
    assertThrows(Settings.InvalidException.class, () -> Settings.resolve(file, Map.of(), Map.of(), new JsonObject()));
  }

  @Test
  void originListsMustBeListsOfOrigins() {
    var e = assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("websocket", new JsonObject().put("allowedOrigins", "https://a.example")),
        Map.of(), Map.of(), null));
    assertTrue(e.getMessage().startsWith("websocket.allowedOrigins:"), e.getMessage());
    e = assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("vhosts", new JsonObject().put("/v", new JsonObject().put("origins", "https://a.example"))),
        Map.of(), Map.of(), null));
    assertTrue(e.getMessage().startsWith("vhosts./v.origins:"), e.getMessage());
    e = assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("vhosts", new JsonObject().put("/v", new JsonObject().put("origins", new JsonArray().add(1)))),
        Map.of(), Map.of(), null));
    assertTrue(e.getMessage().startsWith("vhosts./v.origins:"), e.getMessage());
    // The environment gives a comma-separated list.
    JsonObject c = Settings.resolve(new JsonObject(), Map.of("WEBROCKET_WEBSOCKET_ALLOWEDORIGINS", "https://a.example, https://b.example"),
        Map.of(), null);
    assertEquals(new JsonArray().add("https://a.example").add("https://b.example"),
        c.getJsonObject("websocket").getJsonArray("allowedOrigins"));
  }

  @Test
  void theAdminEndpointBindsLoopbackByDefault() {
    assertEquals("127.0.0.1", Settings.defaults().getJsonObject("admin").getString("host"));
    JsonObject c = Settings.resolve(new JsonObject().put("host", "0.0.0.0"), Map.of(), Map.of(), null);
    assertEquals("0.0.0.0", c.getJsonObject("websocket").getString("host"));
    assertEquals("0.0.0.0", c.getJsonObject("backend").getString("host"));
    assertEquals("127.0.0.1", c.getJsonObject("admin").getString("host"), "a node-wide host does not expose the admin API");
    assertEquals(false, c.getJsonObject("admin").getBoolean("metricsNeedCookie"));
  }

  @Test
  void presenceOrderingBoundsAreSettings() {
    Settings s = Settings.load(new JsonObject(), Map.of("WEBROCKET_PRESENCE_GAPMS", "500"), Map.of(), null);
    assertEquals(new PresenceSettings(500, 4_096), s.presence());
    var e = assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("presence", new JsonObject().put("heldPerChannel", 0)), Map.of(), Map.of(), null));
    assertTrue(e.getMessage().startsWith("presence.heldPerChannel:"), e.getMessage());
  }

  @Test
  void wariHistoryRuleBoundsAreSettings() {
    Settings s = Settings.load(new JsonObject().put("history", new JsonObject().put("maxRulesPerVhost", 3)), Map.of(),
        Map.of("webrocket.history.maxRulesBodyBytes", "2048"), null);
    assertEquals(3, s.history().maxRulesPerVhost());
    assertEquals(2048, s.history().maxRulesBodyBytes());
    assertEquals(65_536, Settings.load(new JsonObject(), Map.of(), Map.of(), null).history().maxRulesBodyBytes());
    var e = assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("history", new JsonObject().put("maxRulesPerVhost", 0)), Map.of(), Map.of(), null));
    assertTrue(e.getMessage().startsWith("history.maxRulesPerVhost:"), e.getMessage());
  }
}
