package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.webrocket.vhost.NodeView;
import io.webrocket.vhost.Secrets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Secrets (vhost tokens, the admin cookie) are compared whole, exactly and in constant time.
 * Over sockets, {@link SecurityTest#nearMissesOfTheVhostTokenAndTheCookieAreRefused} checks the
 * registry's and the admin endpoint's checks; here the comparisons themselves, without a node.
 */
@Tag("fast")
@Timeout(30)
class SecretComparisonTest {
  private static final String SECRET = Secrets.hex(20);

  @Test
  void secretsAreSameOnlyWhenEqualInFull() {
    assertTrue(Secrets.same("ab12", "ab12"));
    assertFalse(Secrets.same("ab12", "ab13"));
    assertFalse(Secrets.same("ab12", "ab1"));
    assertFalse(Secrets.same("ab12", null));
    assertFalse(Secrets.same(null, null));
    assertTrue(Secrets.same(SECRET, new String(SECRET.toCharArray())));
    for (String wrong : SecurityTest.nearMisses(SECRET)) {
      assertFalse(Secrets.same(SECRET, wrong), wrong);
    }
  }

  /** A node's view of a vhost token (kept as a hash) refuses every near miss. */
  @Test
  void aNodesViewRefusesNearMissesOfAToken() {
    Vertx vertx = Vertx.vertx();
    try {
      NodeView view = new NodeView(vertx);
      view.learnToken("/v", SECRET, view.generation("/v"));
      assertTrue(view.tokenValid("/v", SECRET));
      for (String wrong : SecurityTest.nearMisses(SECRET)) {
        assertFalse(view.tokenValid("/v", wrong), wrong);
      }
      assertFalse(view.tokenValid("/v", ""));
      assertFalse(view.tokenValid("/other", SECRET));
    } finally {
      vertx.close().await();
    }
  }

  /**
   * No secret is compared with {@code equals} and friends, which return at the first differing
   * character (a timing oracle): constant time cannot be observed reliably from a test, so this
   * rule bans the shape of the mistake anywhere in the code, whatever its file or line.
   */
  @Test
  void noSecretIsComparedWithEquals() throws IOException {
    Pattern plain = Pattern.compile("(?i)(\\w*(token|cookie|secret)\\w*\\s*\\.\\s*(equals|equalsIgnoreCase|compareTo|contentEquals)\\s*\\("
        + "|\\.(equals|equalsIgnoreCase|contentEquals)\\s*\\(\\s*\\w*(token|cookie|secret)\\w*\\s*\\))");
    List<String> found = new ArrayList<>();
    int files = 0;
    try (Stream<Path> all = Files.walk(Path.of("src/main/java"))) {
      for (Path p : all.filter(f -> f.toString().endsWith(".java")).toList()) {
        files++;
        Matcher m = plain.matcher(Files.readString(p));
        while (m.find()) {
          found.add(p.getFileName() + ": " + m.group());
        }
      }
    }
    assertTrue(files > 50, "the sources were read: " + files);
    assertEquals(List.of(), found, "secrets compared with equals");
  }
}
