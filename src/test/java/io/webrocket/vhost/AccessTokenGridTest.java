package io.webrocket.vhost;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Vertx;
import io.webrocket.store.Store.AccessTokenRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Single access tokens in a node's own grid (no sockets): granted once, never after expiry, kept by hash. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class AccessTokenGridTest {
  private final Vertx vertx = Vertx.vertx();
  private final LocalAccessTokenGrid grid = new LocalAccessTokenGrid(vertx);

  @AfterEach
  void close() {
    vertx.close();
  }

  private static AccessTokenRecord token(long expiresAt) {
    return new AccessTokenRecord(Secrets.accessToken(), "alice", ".*", expiresAt);
  }

  @Test
  void aTokenGrantsOnceAndOnlyInItsVhost() {
    AccessTokenRecord t = token(System.currentTimeMillis() + 60_000);
    grid.put("/a", t);
    assertNull(grid.take("/b", t.token()).result());
    assertEquals(new Registry.Grant("alice", ".*"), grid.take("/a", t.token()).result());
    assertNull(grid.take("/a", t.token()).result());
  }

  @Test
  void anExpiredTokenGrantsNothing() {
    AccessTokenRecord t = token(System.currentTimeMillis() - 1);
    grid.put("/a", t);
    assertNull(grid.take("/a", t.token()).result());
    assertNull(grid.take("/a", null).result());
  }

  @Test
  void tokensAreKeptByHashAndDroppedWithTheirVhostOrExpiry() {
    AccessTokenRecord live = token(System.currentTimeMillis() + 60_000);
    AccessTokenRecord old = token(System.currentTimeMillis() + 10);
    AccessTokenRecord other = token(System.currentTimeMillis() + 60_000);
    grid.put("/a", live);
    grid.put("/a", old);
    grid.put("/b", other);
    vertx.sharedData().<String, String>getLocalMap("webrocket.accessTokens").forEach((k, v) -> {
      assertFalse(k.contains(live.token()) || v.contains(live.token()), "no token in clear");
    });
    grid.purgeExpired(System.currentTimeMillis() + 1_000);
    assertNull(grid.take("/a", old.token()).result());
    grid.dropVhost("/a");
    assertNull(grid.take("/a", live.token()).result());
    assertEquals("alice", grid.take("/b", other.token()).result().uid());
  }
}
