package io.webrocket.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.webrocket.store.Store.AccessTokenRecord;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Single access tokens on their own: used once, never after expiry. */
@Timeout(10)
class AccessTokensTest {
  private final AccessTokens tokens = new AccessTokens();

  @Test
  void aTokenGrantsOnce() {
    AccessTokenRecord t = tokens.issue("alice", ".*", 1_000, 60_000);
    assertEquals(128, t.token().length());
    assertEquals("alice", tokens.take(t.token(), 2_000).uid());
    assertNull(tokens.take(t.token(), 2_000));
  }

  @Test
  void anExpiredTokenGrantsNothingAndIsGone() {
    AccessTokenRecord t = tokens.issue("alice", ".*", 1_000, 500);
    assertNull(tokens.take(t.token(), 1_500));
    assertEquals(0, tokens.size());
  }

  @Test
  void unknownAndMissingTokensGrantNothing() {
    assertNull(tokens.take(null, 0));
    assertNull(tokens.take("nope", 0));
  }

  @Test
  void purgeRemovesOnlyExpiredTokens() {
    AccessTokenRecord old = tokens.issue("a", ".*", 0, 100);
    AccessTokenRecord fresh = tokens.issue("b", ".*", 0, 10_000);
    assertEquals(List.of(old.token()), tokens.purgeExpired(5_000));
    assertNotNull(tokens.take(fresh.token(), 5_000));
  }
}
