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
 * The store over a Vert.x SQL {@link Pool}: PostgreSQL through the reactive client, or the
 * embedded SQLite file through the JDBC client (which runs each statement on a worker thread,
 * so that neither blocks the caller's event loop). One schema and one set of statements for
 * both; what differs is {@link SqlDialect}'s. Used only from the {@link StoreVerticle}'s event
 * loop.
 *
 * <p>Each change is one statement in its own (implicit) transaction, and its future completes
 * once the statement has completed: after PostgreSQL's ReadyForQuery, which follows the commit,
 * or after SQLite's autocommit has reached the WAL. So a future that succeeded stands for a
 * committed change. Changes are serialized — a change is sent only once the one before it has
 * completed (successfully or not) — so they are applied in the order the calls were made even
 * when the pool has several connections. A read waits for the changes asked for before it, then
 * runs alongside later ones.
 *
 * <p>Settings are per node: when several nodes share one database (PostgreSQL) each node's are
 * stored under {@code KEY:NODE_NAME}; the embedded file belongs to one node and keeps plain keys.
 */
final class SqlStore implements Store {
  private final Pool pool;
  private final SqlDialect dialect;
  /** Appended to setting keys ({@code ":" + node name}), or empty when the database is this node's alone. */
  private final String settingSuffix;
  /** The last change asked for; completes (either way) when it has been applied or has failed. */
  private Future<?> lastWrite = Future.succeededFuture();

  /** {@code sharedBy} names this node when other nodes may use the same database, else null. */
  SqlStore(Pool pool, SqlDialect dialect, String sharedBy) {
    this.pool = pool;
    this.dialect = dialect;
    this.settingSuffix = sharedBy == null ? "" : ":" + sharedBy;
  }

  /** Creates the tables if they are missing; idempotent, and safe for nodes starting together. */
  static Future<Void> createSchema(Pool pool, SqlDialect dialect) {
    List<String> statements = new ArrayList<>(dialect.schemaPrelude());
    statements.add("CREATE TABLE IF NOT EXISTS vhosts (path TEXT PRIMARY KEY, token TEXT NOT NULL)");
    statements.add("CREATE TABLE IF NOT EXISTS channels (vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
        + " name TEXT NOT NULL, PRIMARY KEY (vhost, name))");
    statements.add("CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY,"
        + " vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
        + " uid TEXT NOT NULL, permission TEXT NOT NULL, expires_at " + dialect.int64() + " NOT NULL)");
    statements.add("CREATE TABLE IF NOT EXISTS history_rules (vhost TEXT PRIMARY KEY REFERENCES vhosts(path)"
        + " ON DELETE CASCADE, rules TEXT NOT NULL)");
    statements.add("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    return pool.withConnection(conn -> inTransaction(conn, "BEGIN", "COMMIT", () -> {
      Future<?> f = Future.succeededFuture();
      for (String sql : statements) {
        f = f.compose(x -> conn.query(sql).execute());
      }
      return f.mapEmpty();
    }));
  }

  /**
   * Runs {@code body} between {@code begin} and {@code end} (or ROLLBACK when it fails) on one
   * connection, as SQL statements. Not {@code Pool.withTransaction}: vertx-jdbc-client 5.0.7
   * leaves a JDBC connection in manual-commit mode after any transaction (its issue 356, fixed
   * upstream later), so every later single-statement change on the SQLite connection would
   * stay uncommitted and be lost at close.
   */
  private static <T> Future<T> inTransaction(SqlConnection conn, String begin, String end, Supplier<Future<T>> body) {
    return conn.query(begin).execute()
        .compose(x -> body.get())
        .transform(ar -> conn.query(ar.succeeded() ? end : "ROLLBACK").execute()
            .transform(done -> ar.failed() ? Future.<T>failedFuture(ar.cause())
                : done.failed() ? Future.<T>failedFuture(done.cause())
                : Future.succeededFuture(ar.result())));
  }

  private Future<Void> write(String sql, Tuple args) {
    String statement = dialect.sql(sql);
    Future<Void> f = lastWrite.transform(x -> pool.preparedQuery(statement).execute(args).mapEmpty());
    lastWrite = f;
    return f;
  }

  private <T> Future<T> read(Supplier<Future<T>> query) {
    return lastWrite.transform(x -> query.get());
  }

  /** A real round trip, not queued behind changes: readiness follows the database. */
  @Override
  public Future<Void> ping() {
    return pool.query("SELECT 1").execute().mapEmpty();
  }

  @Override
  public Future<List<VhostRecord>> loadAll() {
    long now = System.currentTimeMillis();
    // Read-only: ROLLBACK ends it as well as COMMIT would.
    return read(() -> pool.withConnection(conn -> inTransaction(conn, dialect.beginSnapshot(), "ROLLBACK",
        () -> loadAll(conn, now))));
  }

  private Future<List<VhostRecord>> loadAll(SqlConnection conn, long now) {
    Map<String, String> tokens = new LinkedHashMap<>();
    Map<String, List<String>> channels = new LinkedHashMap<>();
    Map<String, List<AccessTokenRecord>> access = new LinkedHashMap<>();
    String bytes = dialect.byteOrder();
    return conn.query("SELECT path, token FROM vhosts ORDER BY path" + bytes).execute()
        .compose(rows -> {
          for (Row r : rows) {
            tokens.put(r.getString(0), r.getString(1));
            channels.put(r.getString(0), new ArrayList<>());
            access.put(r.getString(0), new ArrayList<>());
          }
          return conn.query("SELECT vhost, name FROM channels ORDER BY vhost" + bytes + ", name" + bytes).execute();
        })
        .compose(rows -> {
          for (Row r : rows) {
            channels.get(r.getString(0)).add(r.getString(1));
          }
          return conn.preparedQuery(dialect.sql("SELECT vhost, token, uid, permission, expires_at FROM access_tokens WHERE expires_at > ?"))
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
    return write("INSERT INTO vhosts (path, token) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET token = excluded.token",
        Tuple.of(path, token));
  }

  @Override
  public Future<Void> deleteVhost(String path) {
    return write("DELETE FROM vhosts WHERE path = ?", Tuple.of(path));
  }

  @Override
  public Future<Void> putChannel(String vhost, String channel) {
    return write("INSERT INTO channels (vhost, name) VALUES (?, ?) ON CONFLICT DO NOTHING", Tuple.of(vhost, channel));
  }

  @Override
  public Future<Void> deleteChannel(String vhost, String channel) {
    return write("DELETE FROM channels WHERE vhost = ? AND name = ?", Tuple.of(vhost, channel));
  }

  @Override
  public Future<Void> deleteChannels(String vhost) {
    return write("DELETE FROM channels WHERE vhost = ?", Tuple.of(vhost));
  }

  @Override
  public Future<Void> putAccessToken(String vhost, AccessTokenRecord t) {
    return write("INSERT INTO access_tokens (token, vhost, uid, permission, expires_at) VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (token) DO UPDATE SET vhost = excluded.vhost, uid = excluded.uid,"
            + " permission = excluded.permission, expires_at = excluded.expires_at",
        Tuple.of(t.token(), vhost, t.uid(), t.permission(), t.expiresAt()));
  }

  @Override
  public Future<Void> deleteAccessToken(String token) {
    return write("DELETE FROM access_tokens WHERE token = ?", Tuple.of(token));
  }

  @Override
  public Future<Void> deleteExpiredAccessTokens(long now) {
    return write("DELETE FROM access_tokens WHERE expires_at <= ?", Tuple.of(now));
  }

  @Override
  public Future<Map<String, String>> historyRules() {
    return read(() -> pool.query("SELECT vhost, rules FROM history_rules").execute().map(rows -> {
      Map<String, String> out = new LinkedHashMap<>();
      for (Row r : rows) {
        out.put(r.getString(0), r.getString(1));
      }
      return out;
    }));
  }

  @Override
  public Future<Void> putHistoryRules(String vhost, String rules) {
    return rules == null ? write("DELETE FROM history_rules WHERE vhost = ?", Tuple.of(vhost))
        : write("INSERT INTO history_rules (vhost, rules) VALUES (?, ?) ON CONFLICT (vhost) DO UPDATE SET rules = excluded.rules",
            Tuple.of(vhost, rules));
  }

  @Override
  public Future<String> getSetting(String key) {
    return read(() -> pool.preparedQuery(dialect.sql("SELECT value FROM settings WHERE key = ?"))
        .execute(Tuple.of(key + settingSuffix))
        .map(rows -> {
          RowIterator<Row> it = rows.iterator();
          return it.hasNext() ? it.next().getString(0) : null;
        }));
  }

  @Override
  public Future<Void> putSetting(String key, String value) {
    return write("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        Tuple.of(key + settingSuffix, value));
  }
}
