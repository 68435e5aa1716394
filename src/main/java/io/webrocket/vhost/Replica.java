package io.webrocket.vhost;

import io.vertx.core.Future;
import java.util.Map;

/**
 * Where the vhost registries copy their state so that another node can take over when the node
 * running them dies: nothing at all on a single node ({@link #NONE}), replicated Hazelcast maps
 * in a cluster ({@code io.webrocket.cluster.ClusterReplica}).
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

  /** Removes a vhost: its token and all its keys. */
  Future<Void> dropVhost(String vhost);

  Future<Void> putVhost(String vhost, String token);

  /**
   * The vhosts and their tokens, or null when the cluster holds no copy yet (it just formed, or
   * all of it restarted): the registries are then rebuilt from the durable store.
   */
  Future<Map<String, String>> vhosts();

  /** Records that the copy is complete: later leaders rebuild from it rather than the store. */
  Future<Void> markComplete();

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

    @Override
    public Future<Void> putVhost(String vhost, String token) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Map<String, String>> vhosts() {
      return Future.succeededFuture(null);
    }

    @Override
    public Future<Void> markComplete() {
      return Future.succeededFuture();
    }
  };
}
