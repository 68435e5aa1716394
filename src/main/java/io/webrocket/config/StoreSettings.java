package io.webrocket.config;

/**
 * The {@code store} section: the embedded SQLite file (default) or PostgreSQL. Nothing here
 * applies live.
 *
 * @param type {@code sqlite} or {@code postgres}
 * @param fsync SQLite only: fsync every write
 */
public record StoreSettings(String type, boolean fsync, Postgres postgres) {

  /**
   * {@code store.postgres}: the server, database and login role, and the connections per node.
   *
   * @param password null: none
   */
  public record Postgres(String host, int port, String database, String user, String password, int poolSize) {
    /** {@code user@host:port/database}, for messages: never the password. */
    public String describe() {
      return user + "@" + host + ":" + port + "/" + database;
    }

    /** Never the password. */
    @Override
    public String toString() {
      return "Postgres[" + describe() + ", password=" + (password == null ? "none" : "set") + ", poolSize=" + poolSize + "]";
    }
  }

  public boolean postgresql() {
    return "postgres".equals(type);
  }

  static StoreSettings parse(Section s) {
    Object type = s.value("type");
    if (!"sqlite".equals(type) && !"postgres".equals(type)) {
      throw new Settings.InvalidException("store.type", "must be sqlite or postgres, got " + type);
    }
    boolean fsync = s.bool("fsync");
    Section pg = s.section("postgres");
    String host = pg.string("host");
    int port = pg.integer("port", 1, 65535);
    String database = pg.string("database");
    String user = pg.string("user");
    // Messages never show the password.
    Object password = pg.value("password");
    if (password != null && !(password instanceof String)) {
      throw new Settings.InvalidException("store.postgres.password", "must be a string");
    }
    int poolSize = pg.integer("poolSize", 1, 100);
    return new StoreSettings((String) type, fsync, new Postgres(host, port, database, user, (String) password, poolSize));
  }
}
