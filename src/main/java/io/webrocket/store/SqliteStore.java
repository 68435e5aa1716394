package io.webrocket.store;

import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The embedded store: one SQLite file in the data directory, in WAL mode. Blocking; used only
 * from the store verticle's worker thread, one call at a time.
 *
 * <p>Each call is its own transaction; SQLite's commit has reached the file (WAL) when it
 * returns, so a killed process loses nothing that was acknowledged. {@code synchronous=FULL}
 * also survives power loss at the cost of an fsync per write.
 */
public final class SqliteStore implements AutoCloseable {
  private final Connection db;

  public SqliteStore(Path file, boolean fsyncEachWrite) throws SQLException {
    try {
      // 0600 before SQLite creates it: its WAL and SHM files take the database file's mode.
      DataDirectory.createPrivateFile(file);
    } catch (java.io.IOException e) {
      throw new SQLException("cannot create " + file + ": " + e.getMessage(), e);
    }
    db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
    try (Statement s = db.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=" + (fsyncEachWrite ? "FULL" : "NORMAL"));
      s.execute("PRAGMA foreign_keys=ON");
      s.execute("PRAGMA busy_timeout=5000");
      s.execute("CREATE TABLE IF NOT EXISTS vhosts (path TEXT PRIMARY KEY, token TEXT NOT NULL)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS channels (vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
              + " name TEXT NOT NULL, PRIMARY KEY (vhost, name))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY,"
              + " vhost TEXT NOT NULL REFERENCES vhosts(path) ON DELETE CASCADE,"
              + " uid TEXT NOT NULL, permission TEXT NOT NULL, expires_at INTEGER NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    }
  }

  public List<VhostRecord> loadAll(long now) throws SQLException {
    Map<String, String> tokens = new LinkedHashMap<>();
    Map<String, List<String>> channels = new LinkedHashMap<>();
    Map<String, List<AccessTokenRecord>> access = new LinkedHashMap<>();
    try (Statement s = db.createStatement()) {
      try (ResultSet r = s.executeQuery("SELECT path, token FROM vhosts ORDER BY path")) {
        while (r.next()) {
          tokens.put(r.getString(1), r.getString(2));
          channels.put(r.getString(1), new ArrayList<>());
          access.put(r.getString(1), new ArrayList<>());
        }
      }
      try (ResultSet r = s.executeQuery("SELECT vhost, name FROM channels ORDER BY vhost, name")) {
        while (r.next()) {
          channels.get(r.getString(1)).add(r.getString(2));
        }
      }
    }
    try (PreparedStatement p =
        db.prepareStatement("SELECT vhost, token, uid, permission, expires_at FROM access_tokens WHERE expires_at > ?")) {
      p.setLong(1, now);
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          access
              .get(r.getString(1))
              .add(new AccessTokenRecord(r.getString(2), r.getString(3), r.getString(4), r.getLong(5)));
        }
      }
    }
    List<VhostRecord> all = new ArrayList<>();
    tokens.forEach((path, token) -> all.add(new VhostRecord(path, token, channels.get(path), access.get(path))));
    return all;
  }

  public void putVhost(String path, String token) throws SQLException {
    update("INSERT INTO vhosts (path, token) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET token = excluded.token", path, token);
  }

  public void deleteVhost(String path) throws SQLException {
    update("DELETE FROM vhosts WHERE path = ?", path);
  }

  public void putChannel(String vhost, String channel) throws SQLException {
    update("INSERT OR IGNORE INTO channels (vhost, name) VALUES (?, ?)", vhost, channel);
  }

  public void deleteChannel(String vhost, String channel) throws SQLException {
    update("DELETE FROM channels WHERE vhost = ? AND name = ?", vhost, channel);
  }

  public void deleteChannels(String vhost) throws SQLException {
    update("DELETE FROM channels WHERE vhost = ?", vhost);
  }

  public void putAccessToken(String vhost, AccessTokenRecord t) throws SQLException {
    update(
        "INSERT OR REPLACE INTO access_tokens (token, vhost, uid, permission, expires_at) VALUES (?, ?, ?, ?, ?)",
        t.token(), vhost, t.uid(), t.permission(), t.expiresAt());
  }

  public void deleteAccessToken(String token) throws SQLException {
    update("DELETE FROM access_tokens WHERE token = ?", token);
  }

  public void deleteExpiredAccessTokens(long now) throws SQLException {
    update("DELETE FROM access_tokens WHERE expires_at <= ?", now);
  }

  public String getSetting(String key) throws SQLException {
    try (PreparedStatement p = db.prepareStatement("SELECT value FROM settings WHERE key = ?")) {
      p.setString(1, key);
      try (ResultSet r = p.executeQuery()) {
        return r.next() ? r.getString(1) : null;
      }
    }
  }

  public void putSetting(String key, String value) throws SQLException {
    update("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  private void update(String sql, Object... params) throws SQLException {
    try (PreparedStatement p = db.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        p.setObject(i + 1, params[i]);
      }
      p.executeUpdate();
    }
  }

  @Override
  public void close() throws SQLException {
    db.close();
  }
}
