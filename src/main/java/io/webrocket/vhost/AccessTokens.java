package io.webrocket.vhost;

import io.webrocket.store.Store.AccessTokenRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The unexpired single access tokens of one vhost. Plain state: each token grants once
 * ({@link #take} removes it) and only before its expiry.
 */
final class AccessTokens {
  private final Map<String, AccessTokenRecord> byToken = new HashMap<>();

  void put(AccessTokenRecord t) {
    byToken.put(t.token(), t);
  }

  /** A new token for {@code uid} with {@code permission}, valid for {@code lifetimeMs} from {@code now}. */
  AccessTokenRecord issue(String uid, String permission, long now, long lifetimeMs) {
    AccessTokenRecord t = new AccessTokenRecord(Secrets.accessToken(), uid, permission, now + lifetimeMs);
    put(t);
    return t;
  }

  /**
   * Uses {@code token}: the record if it was unexpired at {@code now}, else null. Either way the
   * token is gone afterwards, so a second use fails.
   */
  AccessTokenRecord take(String token, long now) {
    AccessTokenRecord t = token == null ? null : byToken.remove(token);
    return t == null || t.expiresAt() <= now ? null : t;
  }

  /** Removes the tokens expired at {@code now} and returns them. */
  List<String> purgeExpired(long now) {
    List<String> expired = new ArrayList<>();
    byToken.values().forEach(t -> {
      if (t.expiresAt() <= now) {
        expired.add(t.token());
      }
    });
    expired.forEach(byToken::remove);
    return expired;
  }

  java.util.Collection<AccessTokenRecord> all() {
    return List.copyOf(byToken.values());
  }

  int size() {
    return byToken.size();
  }
}
