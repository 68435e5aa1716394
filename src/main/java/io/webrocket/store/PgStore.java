package io.webrocket.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowIterator;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The PostgreSQL store over Vert.x's reactive client: nothing here blocks. Used only from the
 * {@link PgStoreVerticle}'s event loop.
 *
 * <p>Each change is one statement in its own (implicit) transaction: the client completes a
 * statement on the server's ReadyForQuery, which follows the commit, so a future that succeeded
 * stands for a committed change. Changes are serialized — a change is sent only once the one
 * before it has completed (successfully or not) — so they are applied in the order the calls
 * were made although the pool has several connections. A read waits for the changes asked for
 * before it, then runs alongside later ones.
 *
 * <p>Several nodes may share one database: vhosts, channels and single access tokens are shared,
 * settings are per node (stored under {@code KEY:NODE_NAME}).
 */
final class PgStore implements Store {
  /** Serializes schema creation between nodes starting together (CREATE TABLE IF NOT EXISTS races). */
  private static final long SCHEMA_LOCK = 0x5765_6252_6f63_6b65L; // "WebRocke"

  private final Pool pool;
  private final String nodeName;
  /** The last change asked for; completes (either way) when it has been applied or has failed. */
  private Future<?> lastWrite = Future.succeededFuture();

  PgStore(Pool pool, String nodeName) {
    this.pool = pool;
    this.nodeName = nodeName;
  }

  /** Creates the tables if they are missing; idempotent, and safe for nodes starting together. */
  static Future<Void> createSchema(Pool pool) {
    String[] ddl = {
      "CREATE TABLE IF NOT EXISTS vhosts (path TEXT PRIMARY KEY, token TEXT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS channels (vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
          + " name TEXT NOT NULL, PRIMARY KEY (vhost, name))",
      "CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY,"
          + " vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
          + " uid TEXT NOT NULL, permission TEXT NOT NULL, expires_at BIGINT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    };
    return pool.withTransaction(conn -> {
      // No "already exists, skipping" notices on every start.
      Future<?> f = conn.query("SET LOCAL client_min_messages = warning").execute()
          .compose(x -> conn.query("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")").execute());
      for (String sql : ddl) {
        f = f.compose(x -> conn.query(sql).execute());
      }
      return f.mapEmpty();
    });
  }

  private Future<Void> write(String sql, Tuple args) {
    Future<Void> f = lastWrite.transform(x -> pool.preparedQuery(sql).execute(args).mapEmpty());
    lastWrite = f;
    return f;
  }

  private <T> Future<T> read(Supplier<Future<T>> query) {
    return lastWrite.transform(x -> query.get());
  }

  private String settingKey(String key) {
    return key + ":" + nodeName;
  }

  /** A real round trip, not queued behind changes: readiness follows the database. */
  @Override
  public Future<Void> ping() {
    return pool.query("SELECT 1").execute().mapEmpty();
  }

  @Override
  public Future<List<VhostRecord>> loadAll() {
    long now = System.currentTimeMillis();
    // One snapshot: other nodes may be writing meanwhile.
    return read(() -> pool.withTransaction(conn -> conn
        .query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute()
        .compose(x -> loadAll(conn, now))));
  }

  private static Future<List<VhostRecord>> loadAll(SqlConnection conn, long now) {
    Map<String, String> tokens = new LinkedHashMap<>();
    Map<String, List<String>> channels = new LinkedHashMap<>();
    Map<String, List<AccessTokenRecord>> access = new LinkedHashMap<>();
    // COLLATE "C": the byte order SQLite uses, whatever the database's locale.
    return conn.query("SELECT path, token FROM vhosts ORDER BY path COLLATE \"C\"").execute()
        .compose(rows -> {
          for (Row r : rows) {
            tokens.put(r.getString(0), r.getString(1));
            channels.put(r.getString(0), new ArrayList<>());
            access.put(r.getString(0), new ArrayList<>());
          }
          return conn.query("SELECT vhost, name FROM channels ORDER BY vhost COLLATE \"C\", name COLLATE \"C\"").execute();
        })
        .compose(rows -> {
          for (Row r : rows) {
            channels.get(r.getString(0)).add(r.getString(1));
          }
          return conn.preparedQuery("SELECT vhost, token, uid, permission, expires_at FROM access_tokens WHERE expires_at > $1")
              .execute(Tuple.of(now));
        })
        .map(rows -> {
          for (Row r : rows) {
            access.get(r.getString(0))
                .add(new AccessTokenRecord(r.getString(1), r.getString(2), r.getString(3), r.getLong(4)));
          }
          List<VhostRecord> all = new ArrayList<>();
          tokens.forEach((path, token) -> all.add(new VhostRecord(path, token, channels.get(path), access.get(path))));
          return all;
        });
  }

  @Override
  public Future<Void> putVhost(String path, String token) {
    return write("INSERT INTO vhosts (path, token) VALUES ($1, $2) ON CONFLICT (path) DO UPDATE SET token = excluded.token",
        Tuple.of(path, token));
  }

  @Override
  public Future<Void> deleteVhost(String path) {
    return write("DELETE FROM vhosts WHERE path = $1", Tuple.of(path));
  }

  @Override
  public Future<Void> putChannel(String vhost, String channel) {
    return write("INSERT INTO channels (vhost, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", Tuple.of(vhost, channel));
  }

  @Override
  public Future<Void> deleteChannel(String vhost, String channel) {
    return write("DELETE FROM channels WHERE vhost = $1 AND name = $2", Tuple.of(vhost, channel));
  }

  @Override
  public Future<Void> deleteChannels(String vhost) {
    return write("DELETE FROM channels WHERE vhost = $1", Tuple.of(vhost));
  }

  @Override
  public Future<Void> putAccessToken(String vhost, AccessTokenRecord t) {
    return write("INSERT INTO access_tokens (token, vhost, uid, permission, expires_at) VALUES ($1, $2, $3, $4, $5)"
            + " ON CONFLICT (token) DO UPDATE SET vhost = excluded.vhost, uid = excluded.uid,"
            + " permission = excluded.permission, expires_at = excluded.expires_at",
        Tuple.of(t.token(), vhost, t.uid(), t.permission(), t.expiresAt()));
  }

  @Override
  public Future<Void> deleteAccessToken(String token) {
    return write("DELETE FROM access_tokens WHERE token = $1", Tuple.of(token));
  }

  @Override
  public Future<Void> deleteExpiredAccessTokens(long now) {
    return write("DELETE FROM access_tokens WHERE expires_at <= $1", Tuple.of(now));
  }

  @Override
  public Future<String> getSetting(String key) {
    return read(() -> pool.preparedQuery("SELECT value FROM settings WHERE key = $1").execute(Tuple.of(settingKey(key)))
        .map(rows -> {
          RowIterator<Row> it = rows.iterator();
          return it.hasNext() ? it.next().getString(0) : null;
        }));
  }

  @Override
  public Future<Void> putSetting(String key, String value) {
    return write("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        Tuple.of(settingKey(key), value));
  }
}
