package io.webrocket.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.AsyncMap;
import io.webrocket.vhost.Replica;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registries' state in cluster-wide maps (Hazelcast IMaps behind Vert.x's shared data, one
 * synchronous backup each): when a write completes the value is held by two members, so the
 * loss of any one node loses nothing a client was told is done.
 *
 * <p>Layout: {@code webrocket.vhosts} maps a vhost path to its token, plus the {@link #COMPLETE}
 * marker; {@code webrocket.vhost:PATH} holds that vhost's channels, single access tokens,
 * presence members and workers.
 */
public final class ClusterReplica implements Replica {
  private static final String VHOSTS = "webrocket.vhosts";
  /** Not a vhost path (paths start with '/'): the marker that the copy is complete. */
  private static final String COMPLETE = "complete";

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
    return map(VHOSTS).compose(m -> m.remove(vhost))
        .compose(x -> map(vhostMap(vhost)))
        .compose(AsyncMap::clear);
  }

  @Override
  public Future<Void> putVhost(String vhost, String token) {
    return map(VHOSTS).compose(m -> m.put(vhost, token));
  }

  @Override
  public Future<Map<String, String>> vhosts() {
    return map(VHOSTS).compose(AsyncMap::entries).map(all -> {
      if (!all.containsKey(COMPLETE)) {
        return null;
      }
      Map<String, String> vhosts = new HashMap<>();
      all.forEach((k, v) -> {
        if (!COMPLETE.equals(k)) {
          vhosts.put(k, (String) v);
        }
      });
      return vhosts;
    });
  }

  @Override
  public Future<Void> markComplete() {
    return map(VHOSTS).compose(m -> m.put(COMPLETE, "true"));
  }
}
