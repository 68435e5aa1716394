package io.webrocket.cluster;

import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.vhost.AccessTokenGrid;
import io.webrocket.vhost.Registry;
import java.util.concurrent.TimeUnit;

/**
 * {@link AccessTokenGrid} in a Hazelcast map ({@code webrocket.accessTokens}: partitioned, one
 * synchronous backup by default), each entry with a time-to-live of the token's remaining
 * lifetime. A use is {@code removeAsync} on the key's owner: atomic, so a token grants once
 * whichever nodes race for it. Only the asynchronous calls are used, and their results come
 * back on the caller's context: nothing here blocks an event loop.
 */
public final class ClusterAccessTokenGrid implements AccessTokenGrid {
  static final String MAP = "webrocket.accessTokens";

  private final Vertx vertx;
  private final IMap<String, String> tokens;

  private ClusterAccessTokenGrid(Vertx vertx, IMap<String, String> tokens) {
    this.vertx = vertx;
    this.tokens = tokens;
  }

  /**
   * The grid a node uses: this one when clustered (the map's proxy is made on a worker thread:
   * its first creation may talk to other members), else its own memory.
   */
  public static Future<AccessTokenGrid> of(Vertx vertx) {
    var hazelcast = Clustering.hazelcast(vertx);
    if (hazelcast == null) {
      return Future.succeededFuture(new io.webrocket.vhost.LocalAccessTokenGrid(vertx));
    }
    return vertx.executeBlocking(() -> new ClusterAccessTokenGrid(vertx, hazelcast.<String, String>getMap(MAP)));
  }

  @Override
  public Future<Void> dropVhost(String vhost) {
    String prefix = vhost + "\n";
    // Rare (a vhost deleted) and a scan of every member: on a worker thread.
    return vertx.executeBlocking(() -> {
      tokens.removeAll((com.hazelcast.query.Predicate<String, String>) e -> e.getKey().startsWith(prefix));
      return null;
    });
  }

  @Override
  public Future<Void> put(String vhost, AccessTokenRecord t) {
    long ttl = Math.max(1, t.expiresAt() - System.currentTimeMillis());
    return Future.<String>fromCompletionStage(
            tokens.putAsync(AccessTokenGrid.key(vhost, t.token()), AccessTokenGrid.value(t), ttl, TimeUnit.MILLISECONDS),
            vertx.getOrCreateContext())
        .mapEmpty();
  }

  @Override
  public Future<Registry.Grant> take(String vhost, String token) {
    if (token == null) {
      return Future.succeededFuture(null);
    }
    return Future.fromCompletionStage(tokens.removeAsync(AccessTokenGrid.key(vhost, token)), vertx.getOrCreateContext())
        .map(v -> AccessTokenGrid.grant(v, System.currentTimeMillis()));
  }
}
