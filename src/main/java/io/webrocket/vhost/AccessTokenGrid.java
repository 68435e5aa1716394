package io.webrocket.vhost;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.webrocket.store.Store.AccessTokenRecord;

/**
 * The unexpired single access tokens of every vhost, shared by the nodes: any node issues one,
 * any node uses one, with no request to another node's registry. One node keeps them in its
 * own memory ({@link LocalAccessTokenGrid}); a cluster in a Hazelcast map partitioned over the
 * members with one synchronous backup ({@code io.webrocket.cluster.ClusterAccessTokenGrid}).
 *
 * <p>Guarantees: a token grants at most once cluster-wide ({@link #take} removes it atomically
 * on the member that owns its key) and never after its expiry; a {@link #put} that succeeded is
 * held by two members. Tokens are kept under a hash of the token ({@link NodeView#hash}), never
 * in clear: the grid only needs to recognise them. (The durable store keeps the records, for a
 * full restart.)
 */
public interface AccessTokenGrid {

  /**
   * The grid this node uses: the cluster's when clustered, else its own memory. The edges get it
   * here, so that they need not know the cluster package.
   */
  static io.vertx.core.Future<AccessTokenGrid> of(io.vertx.core.Vertx vertx) {
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx);
  }

  /** Keeps {@code t} of {@code vhost} until it expires. */
  Future<Void> put(String vhost, AccessTokenRecord t);

  /** Uses {@code token}: its grant if it was there and unexpired, else null. It is gone afterwards. */
  Future<Registry.Grant> take(String vhost, String token);

  /** Forgets every token of a deleted vhost (a vhost created again later with the same path starts with none). */
  Future<Void> dropVhost(String vhost);

  /** The key of a token: the vhost and the token's hash. */
  static String key(String vhost, String token) {
    return vhost + "\n" + NodeView.hash(token);
  }

  /** The value kept for a token: what it grants and until when. */
  static String value(AccessTokenRecord t) {
    return new JsonObject().put("uid", t.uid()).put("permission", t.permission()).put("expiresAt", t.expiresAt())
        .encode();
  }

  /** The grant a kept value stands for at {@code now}, or null if absent or expired. */
  static Registry.Grant grant(String value, long now) {
    if (value == null) {
      return null;
    }
    JsonObject j = new JsonObject(value);
    return j.getLong("expiresAt") <= now ? null : new Registry.Grant(j.getString("uid"), j.getString("permission"));
  }
}
