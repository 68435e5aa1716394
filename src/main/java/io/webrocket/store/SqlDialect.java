package io.webrocket.store;

import java.util.List;

/**
 * What the SQL text of {@link SqlStore} differs in between the two databases it runs on; the
 * statements themselves are written once, with {@code ?} placeholders. Both databases take the
 * same upsert ({@code INSERT ... ON CONFLICT ... DO UPDATE SET x = excluded.x}, SQLite since
 * 3.24) and {@code ON CONFLICT DO NOTHING}, so those are not here.
 */
record SqlDialect(
    String name,
    /** Whether placeholders are numbered ({@code $1, $2}: PostgreSQL) rather than {@code ?} (JDBC). */
    boolean numberedPlaceholders,
    /** The declared type of a 64-bit integer column. */
    String int64,
    /** Appended to a text column in ORDER BY for byte order (the order SQLite's default BINARY collation gives). */
    String byteOrder,
    /** Run first in the schema transaction. */
    List<String> schemaPrelude,
    /** Starts {@link SqlStore#loadAll}'s read-only transaction, so that it reads one snapshot. */
    String beginSnapshot) {

  /**
   * The embedded file. One connection, one node (the data directory's lock keeps others out), so
   * schema creation needs no lock and any transaction reads one snapshot (WAL mode). The declared
   * type stays {@code INTEGER} as in files written before (the same 64-bit storage).
   */
  static final SqlDialect SQLITE = new SqlDialect("SQLite", false, "INTEGER", "", List.of(), "BEGIN");

  /** Several nodes may share the database, and the pool has several connections. */
  static final SqlDialect POSTGRES = new SqlDialect("PostgreSQL", true, "BIGINT", " COLLATE \"C\"",
      List.of(
          // No "already exists, skipping" notices on every start.
          "SET LOCAL client_min_messages = warning",
          // Serializes schema creation between nodes starting together (CREATE TABLE IF NOT EXISTS races).
          "SELECT pg_advisory_xact_lock(" + 0x5765_6252_6f63_6b65L + ")"), // "WebRocke"
      // One snapshot: other nodes may be writing meanwhile.
      "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");

  /** {@code sql} with its {@code ?} placeholders in this database's form (our statements have no {@code ?} in literals). */
  String sql(String sql) {
    if (!numberedPlaceholders) {
      return sql;
    }
    StringBuilder out = new StringBuilder(sql.length() + 8);
    int n = 0;
    for (int i = 0; i < sql.length(); i++) {
      char c = sql.charAt(i);
      if (c == '?') {
        out.append('$').append(++n);
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
