package io.webrocket.vhost;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;
import io.webrocket.store.Store.AccessTokenRecord;

/**
 * {@link AccessTokenGrid} of a node that is not clustered: a Vert.x local map (node-wide,
 * thread-safe: its remove is atomic, so a token grants once). Expired entries are dropped when
 * used and by {@link #purgeExpired}, which the registries call periodically.
 */
public final class LocalAccessTokenGrid implements AccessTokenGrid {
  private final LocalMap<String, String> tokens;

  public LocalAccessTokenGrid(Vertx vertx) {
    this.tokens = vertx.sharedData().getLocalMap("webrocket.accessTokens");
  }

  @Override
  public Future<Void> put(String vhost, AccessTokenRecord t) {
    tokens.put(AccessTokenGrid.key(vhost, t.token()), AccessTokenGrid.value(t));
    return Future.succeededFuture();
  }

  @Override
  public Future<Registry.Grant> take(String vhost, String token) {
    if (token == null) {
      return Future.succeededFuture(null);
    }
    return Future.succeededFuture(AccessTokenGrid.grant(tokens.remove(AccessTokenGrid.key(vhost, token)),
        System.currentTimeMillis()));
  }

  @Override
  public Future<Void> dropVhost(String vhost) {
    String prefix = vhost + "\n";
    tokens.keySet().stream().filter(k -> k.startsWith(prefix)).toList().forEach(tokens::remove);
    return Future.succeededFuture();
  }

  /** Drops the tokens expired at {@code now}. */
  public void purgeExpired(long now) {
    tokens.entrySet().stream().filter(e -> AccessTokenGrid.grant(e.getValue(), now) == null).map(e -> e.getKey())
        .toList().forEach(tokens::remove);
  }
}
