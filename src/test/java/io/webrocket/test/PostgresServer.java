package io.webrocket.test;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A throwaway PostgreSQL server for tests: {@code initdb} into a temporary directory, then
 * {@code pg_ctl start} on a free port on 127.0.0.1 with its unix socket in that directory. It
 * has a login role {@link #USER} (password {@link #PASSWORD}, scram-sha-256 over TCP) that owns
 * the databases {@link #createDatabase()} makes. Always {@link #close()} it (in {@code @AfterAll});
 * a shutdown hook stops it too if the JVM exits first.
 *
 * <p>PostgreSQL refuses to run as root: when the tests run as root, every PostgreSQL command runs
 * as the {@code postgres} user ({@code runuser -u postgres --}), which owns the directory.
 *
 * <p>The server runs with {@code fsync = off}: the tests kill broker nodes, never this server,
 * and a commit is still acknowledged only once it is in the server's WAL.
 */
public final class PostgresServer implements AutoCloseable {
  public static final String USER = "webrocket";
  public static final String PASSWORD = "pg-test-Secret-7f3a";
  private static final String OS_USER = "postgres";
  private static final long COMMAND_TIMEOUT_S = 120;
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final Path bin;
  private final Path root;
  private final Path data;
  private final boolean asPostgres;
  private final Thread hook;
  public final int port;
  private boolean running;

  private PostgresServer(Path bin, Path root, int port, boolean asPostgres) {
    this.bin = bin;
    this.root = root;
    this.data = root.resolve("data");
    this.port = port;
    this.asPostgres = asPostgres;
    this.hook = new Thread(this::stopQuietly, "postgres-server-stop");
  }

  /** The newest {@code /usr/lib/postgresql/VERSION/bin} with {@code initdb}, or null. */
  public static Path binaries() {
    Path base = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(base)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(base)) {
      return versions
          .filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
          .filter(v -> Files.isExecutable(v.resolve("bin/initdb")) && Files.isExecutable(v.resolve("bin/pg_ctl")))
          .max(Comparator.comparingDouble(v -> Double.parseDouble(v.getFileName().toString())))
          .map(v -> v.resolve("bin"))
          .orElse(null);
    } catch (IOException e) {
      return null;
    }
  }

  /** Starts a server; skips the calling tests when PostgreSQL is not installed. */
  public static PostgresServer startOrSkip() {
    Path bin = binaries();
    Assumptions.assumeTrue(bin != null,
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql");
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir;
    try {
      dir = Files.createTempDirectory("webrocket-pg");
      if (root) {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal owner = users.lookupPrincipalByName(OS_USER);
        GroupPrincipal group = users.lookupPrincipalByGroupName(OS_USER);
        Files.setOwner(dir, owner);
        Files.getFileAttributeView(dir, java.nio.file.attribute.PosixFileAttributeView.class).setGroup(group);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare a directory for PostgreSQL (as root, user " + OS_USER + " must exist): " + e, e);
    }
    PostgresServer s = new PostgresServer(bin, dir, TestNode.freePort(), root);
    try {
      s.init();
      s.start();
      s.psql("postgres", "CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void init() {
    run(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", OS_USER, "-E", "UTF8", "--locale=C",
        "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync");
    String conf = String.join("\n",
        "",
        "# webrocket tests",
        "listen_addresses = '127.0.0.1'",
        "port = " + port,
        "unix_socket_directories = '" + root + "'",
        "fsync = off",
        "full_page_writes = off",
        "shared_buffers = 16MB",
        "max_connections = 60",
        "");
    try {
      // Appending keeps the file's owner.
      Files.writeString(data.resolve("postgresql.conf"), conf, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts (or restarts) the server on the same port and data; waits until it accepts connections. */
  public synchronized void start() {
    if (running) {
      return;
    }
    run(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", root.resolve("server.log").toString(),
        "-w", "-t", "60", "start");
    running = true;
    try {
      Runtime.getRuntime().addShutdownHook(hook);
    } catch (IllegalArgumentException alreadyAdded) {
      // a restart: the hook is still registered
    }
  }

  /** Stops the server (fast shutdown: sessions are disconnected); {@link #start()} brings it back. */
  public synchronized void stop() {
    if (!running) {
      return;
    }
    run(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "-t", "60", "stop");
    running = false;
  }

  /** A new, empty database owned by {@link #USER}; returns its name. */
  public String createDatabase() {
    String name = "webrocket_t" + DATABASES.incrementAndGet();
    psql("postgres", "CREATE DATABASE " + name + " OWNER " + USER);
    return name;
  }

  /** Runs SQL as the superuser over the unix socket; returns psql's unaligned, tuples-only output. */
  public String psql(String database, String sql) {
    return run(bin.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", root.toString(),
        "-p", String.valueOf(port), "-U", OS_USER, "-d", database, "-c", sql).trim();
  }

  /** A node configuration section (merge it over a node's) that points the store at {@code database}. */
  public JsonObject nodeConfig(String database) {
    return new JsonObject().put("store", new JsonObject()
        .put("type", "postgres")
        .put("postgres", new JsonObject()
            .put("host", "127.0.0.1")
            .put("port", port)
            .put("database", database)
            .put("user", USER)
            .put("password", PASSWORD)));
  }

  /** The same as environment variables, for a node in a separate JVM. */
  public Map<String, String> nodeEnv(String database) {
    return Map.of(
        "WEBROCKET_STORE_TYPE", "postgres",
        "WEBROCKET_STORE_POSTGRES_HOST", "127.0.0.1",
        "WEBROCKET_STORE_POSTGRES_PORT", String.valueOf(port),
        "WEBROCKET_STORE_POSTGRES_DATABASE", database,
        "WEBROCKET_STORE_POSTGRES_USER", USER,
        "WEBROCKET_STORE_POSTGRES_PASSWORD", PASSWORD);
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (RuntimeException e) {
      try {
        run(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "-t", "30", "stop");
        running = false;
      } catch (RuntimeException ignored) {
        // nothing more to try
      }
    }
  }

  /** Stops the server and deletes its directory. */
  @Override
  public synchronized void close() {
    stopQuietly();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException | IllegalArgumentException ignored) {
      // exiting already, or never registered
    }
    if (!running) {
      try (Stream<Path> all = Files.walk(root)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temporary directory left behind
      }
    }
  }

  /** Runs a command (as {@code postgres} when we are root) in the server's directory; bounded; fails with its output. */
  private String run(String... command) {
    List<String> cmd = new ArrayList<>();
    if (asPostgres) {
      cmd.addAll(List.of("runuser", "-u", OS_USER, "--"));
    }
    cmd.addAll(List.of(command));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
    pb.environment().put("LC_ALL", "C");
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Thread reader = new Thread(() -> copy(p.getInputStream(), out), "postgres-command-output");
      reader.setDaemon(true);
      reader.start();
      if (!p.waitFor(COMMAND_TIMEOUT_S, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + ": no exit within " + COMMAND_TIMEOUT_S + " s");
      }
      reader.join(5_000);
      String text;
      synchronized (out) {
        text = out.toString(StandardCharsets.UTF_8);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n" + text + logTail());
      }
      return text;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void copy(InputStream in, ByteArrayOutputStream out) {
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        synchronized (out) {
          out.write(buf, 0, n);
        }
      }
    } catch (IOException ignored) {
      // the process is gone
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(root.resolve("server.log"));
      return "\nserver.log:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }
}
