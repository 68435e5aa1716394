package io.webrocket.vhost;

import io.vertx.core.Future;
import java.util.Map;

/**
 * Where the presence host's registries copy their presence members so that another node can
 * take over when it dies: nothing at all on a single node ({@link #NONE}), Hazelcast maps in a
 * cluster ({@code io.webrocket.cluster.ClusterReplica}). (Vhosts, tokens and channels are in
 * the {@link VhostGrid}.)
 *
 * <p>A registry writes here before it answers, like it writes to the store: what a client was
 * told is done survives the loss of any one node. Keys within a vhost are short strings whose
 * first letter says what they hold (see {@link VhostRegistry}).
 */
public interface Replica {
  /** True when the state is replicated (a cluster): registries must then copy everything here. */
  boolean replicated();

  Future<Void> put(String vhost, String key, Object value);

  Future<Void> remove(String vhost, String key);

  /** Everything kept for one vhost. */
  Future<Map<String, Object>> load(String vhost);

  /** Removes all keys of a vhost. */
  Future<Void> dropVhost(String vhost);

  Replica NONE = new Replica() {
    @Override
    public boolean replicated() {
      return false;
    }

    @Override
    public Future<Void> put(String vhost, String key, Object value) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> remove(String vhost, String key) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Map<String, Object>> load(String vhost) {
      return Future.succeededFuture(Map.of());
    }

    @Override
    public Future<Void> dropVhost(String vhost) {
      return Future.succeededFuture();
    }
  };
}
