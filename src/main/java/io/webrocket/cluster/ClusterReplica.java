package io.webrocket.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.AsyncMap;
import io.webrocket.vhost.Replica;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The presence members in cluster-wide maps (Hazelcast IMaps behind Vert.x's shared data, one
 * synchronous backup each): when a write completes the value is held by two members, so the
 * loss of any one node loses nothing a client was told is done.
 *
 * <p>Layout: {@code webrocket.vhost:PATH} holds that vhost's presence members.
 */
public final class ClusterReplica implements Replica {

  private final Vertx vertx;
  private final Map<String, Future<AsyncMap<String, Object>>> maps = new ConcurrentHashMap<>();

  public ClusterReplica(Vertx vertx) {
    this.vertx = vertx;
  }

  private Future<AsyncMap<String, Object>> map(String name) {
    // Shared by the registries (each on its own event loop); a failed lookup is retried next time.
    return maps.compute(name, (k, m) -> m == null || m.failed() ? vertx.sharedData().getAsyncMap(name) : m);
  }

  private static String vhostMap(String vhost) {
    return "webrocket.vhost:" + vhost;
  }

  @Override
  public boolean replicated() {
    return true;
  }

  @Override
  public Future<Void> put(String vhost, String key, Object value) {
    return map(vhostMap(vhost)).compose(m -> m.put(key, value));
  }

  @Override
  public Future<Void> remove(String vhost, String key) {
    return map(vhostMap(vhost)).compose(m -> m.remove(key)).mapEmpty();
  }

  @Override
  public Future<Map<String, Object>> load(String vhost) {
    return map(vhostMap(vhost)).compose(AsyncMap::entries);
  }

  @Override
  public Future<Void> dropVhost(String vhost) {
    return map(vhostMap(vhost)).compose(AsyncMap::clear);
  }
}
