package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The data directory holds the admin cookie and every token, in the SQLite files as well as the
 * cookie file: the directory is created 0700 and each file in it is 0600, whatever the umask
 * (this JVM's is the usual 022, which would give 0755 and 0644).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DataDirectoryTest {
  static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  static void assertPrivate(Path data) throws Exception {
    assertEquals("rwx------", mode(data), "data directory " + data);
    Set<String> names = new TreeSet<>();
    try (var files = Files.list(data)) {
      for (Path f : files.toList()) {
        names.add(f.getFileName().toString());
        assertEquals("rw-------", mode(f), f.toString());
      }
    }
    assertTrue(names.containsAll(List.of("webrocket.db", "webrocket.db-wal", "webrocket.db-shm", "webrocket.lock", "test.cookie")),
        "files checked: " + names);
  }

  @Test
  void theDataDirectoryAndEveryFileInItAreReadableByTheOwnerOnly() throws Exception {
    Path data = Files.createTempDirectory("webrocket-modes").resolve("data");
    try (TestNode n = TestNode.start(data, new JsonObject())) {
      n.createVhost("/secret"); // a write: the WAL holds the cookie and the token now
      assertPrivate(data);
      // The cookie really is in the database files, so their mode is what protects it.
      assertTrue(n.admin().call("GET", "/").statusCode() == 200);
    }
  }

  @Test
  void filesLeftReadableByAnEarlierVersionAreNarrowedAtStart() throws Exception {
    Path data = Files.createTempDirectory("webrocket-modes").resolve("data");
    try (TestNode n = TestNode.start(data, new JsonObject())) {
      n.createVhost("/secret");
    }
    Files.setPosixFilePermissions(data.resolve("webrocket.db"), PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(data.resolve("test.cookie"), PosixFilePermissions.fromString("rw-r--r--"));
    try (TestNode n = TestNode.start(data, new JsonObject())) {
      n.createVhost("/more");
      assertPrivate(data);
    }
  }
}
