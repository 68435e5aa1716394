package io.webrocket.config;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code store} section: {@code type} and {@code postgres.*}, their defaults, overrides and validation. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class PostgresSettingsTest {

  private static JsonObject resolve(JsonObject store, Map<String, String> env) {
    JsonObject file = store == null ? new JsonObject() : new JsonObject().put("store", store);
    return Settings.resolve(file, env, Map.of(), new JsonObject()).getJsonObject("store");
  }

  private static String invalid(JsonObject store) {
    return assertThrows(Settings.InvalidException.class, () -> resolve(store, Map.of())).getMessage();
  }

  @Test
  void theEmbeddedStoreIsTheDefault() {
    JsonObject s = resolve(null, Map.of());
    assertEquals("sqlite", s.getString("type"));
    assertEquals(false, s.getBoolean("fsync"));
    JsonObject pg = s.getJsonObject("postgres");
    assertEquals("localhost", pg.getString("host"));
    assertEquals(5432, pg.getInteger("port"));
    assertEquals("webrocket", pg.getString("database"));
    assertEquals("webrocket", pg.getString("user"));
    assertNull(pg.getValue("password"));
    assertEquals(4, pg.getInteger("poolSize"));
  }

  @Test
  void postgresIsChosenInTheFileAndTheUnsetKeysKeepTheirDefaults() {
    JsonObject s = resolve(new JsonObject().put("type", "postgres")
        .put("postgres", new JsonObject().put("host", "db.internal").put("database", "wr")), Map.of());
    assertEquals("postgres", s.getString("type"));
    assertEquals("db.internal", s.getJsonObject("postgres").getString("host"));
    assertEquals("wr", s.getJsonObject("postgres").getString("database"));
    assertEquals(5432, s.getJsonObject("postgres").getInteger("port"));
    assertEquals("webrocket", s.getJsonObject("postgres").getString("user"));
  }

  @Test
  void theEnvironmentSetsTheTypeThePortAndThePassword() {
    JsonObject s = resolve(new JsonObject().put("postgres", new JsonObject().put("password", "from-file")),
        Map.of("WEBROCKET_STORE_TYPE", "postgres", "WEBROCKET_STORE_POSTGRES_PORT", "6543",
            "WEBROCKET_STORE_POSTGRES_PASSWORD", "from-env", "WEBROCKET_STORE_POSTGRES_POOLSIZE", "9"));
    assertEquals("postgres", s.getString("type"));
    assertEquals(6543, s.getJsonObject("postgres").getInteger("port"));
    assertEquals("from-env", s.getJsonObject("postgres").getString("password"));
    assertEquals(9, s.getJsonObject("postgres").getInteger("poolSize"));
    // Without a file value either.
    assertEquals("only-env", resolve(null, Map.of("WEBROCKET_STORE_POSTGRES_PASSWORD", "only-env"))
        .getJsonObject("postgres").getString("password"));
  }

  @Test
  void badValuesAreRefusedNamingTheKey() {
    assertTrue(invalid(new JsonObject().put("type", "mysql")).startsWith("store.type: "), invalid(new JsonObject().put("type", "mysql")));
    assertTrue(invalid(new JsonObject().put("fsync", "yes")).startsWith("store.fsync: "));
    assertTrue(invalid(new JsonObject().put("postgres", "localhost")).startsWith("store.postgres: "));
    assertTrue(invalid(pg("host", "")).startsWith("store.postgres.host: "));
    assertTrue(invalid(pg("port", 0)).startsWith("store.postgres.port: "));
    assertTrue(invalid(pg("port", 70000)).startsWith("store.postgres.port: "));
    assertTrue(invalid(pg("database", " ")).startsWith("store.postgres.database: "));
    assertTrue(invalid(pg("user", 5)).startsWith("store.postgres.user: "));
    assertTrue(invalid(pg("poolSize", 0)).startsWith("store.postgres.poolSize: "));
    String m = invalid(pg("password", 123456789));
    assertTrue(m.startsWith("store.postgres.password: "), m);
    assertFalse(m.contains("123456789"), "the password is never shown: " + m);
    String port = assertThrows(Settings.InvalidException.class,
        () -> resolve(null, Map.of("WEBROCKET_STORE_POSTGRES_PORT", "fifty"))).getMessage();
    assertTrue(port.startsWith("store.postgres.port: "), port);
  }

  private static JsonObject pg(String key, Object value) {
    return new JsonObject().put("type", "postgres").put("postgres", new JsonObject().put(key, value));
  }
}
