package io.webrocket;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.PostgresServer;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link PersistenceTest}'s tests, unchanged, with {@code store.type = postgres}: each test gets
 * a fresh database on one throwaway PostgreSQL server (the separate JVM of the {@code kill -9}
 * test reads it from {@code WEBROCKET_STORE_*} environment variables, password included).
 */
class PostgresPersistenceTest extends PersistenceTest {
  private static PostgresServer pg;
  private String database;

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

  @BeforeEach
  void freshDatabase() {
    database = pg.createDatabase();
  }

  @Override
  JsonObject store() {
    return pg.nodeConfig(database);
  }

  @Override
  Map<String, String> storeEnv() {
    return pg.nodeEnv(database);
  }
}
