package io.webrocket.vhost;

import io.vertx.core.Future;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link VhostGrid} of a node that is not clustered: concurrent maps in this node's memory,
 * shared by its directory and registries (each change is one atomic map operation).
 */
public final class LocalVhostGrid implements VhostGrid {
  private final Map<String, String> tokens = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> channels = new ConcurrentHashMap<>();
  private final Map<String, String> historyRules = new ConcurrentHashMap<>();
  private volatile boolean loaded;

  private Set<String> of(String vhost) {
    return channels.getOrDefault(vhost, java.util.Collections.emptySet());
  }

  @Override
  public Future<Map<String, String>> vhosts() {
    return Future.succeededFuture(new TreeMap<>(tokens));
  }

  @Override
  public Future<String> token(String vhost) {
    return Future.succeededFuture(tokens.get(vhost));
  }

  @Override
  public Future<Boolean> createVhost(String vhost, String token) {
    boolean created = tokens.putIfAbsent(vhost, token) == null;
    if (created) {
      channels.put(vhost, ConcurrentHashMap.newKeySet());
    }
    return Future.succeededFuture(created);
  }

  @Override
  public Future<Boolean> setToken(String vhost, String token) {
    return Future.succeededFuture(tokens.replace(vhost, token) != null);
  }

  @Override
  public Future<Boolean> deleteVhost(String vhost) {
    boolean existed = tokens.remove(vhost) != null;
    channels.remove(vhost);
    historyRules.remove(vhost);
    return Future.succeededFuture(existed);
  }

  @Override
  public Future<Boolean> openChannel(String vhost, String channel) {
    Set<String> set = channels.get(vhost);
    return Future.succeededFuture(set != null && set.add(channel));
  }

  @Override
  public Future<Boolean> closeChannel(String vhost, String channel) {
    return Future.succeededFuture(of(vhost).remove(channel));
  }

  @Override
  public Future<List<String>> closeChannels(String vhost) {
    List<String> closed = of(vhost).stream().sorted().toList();
    closed.forEach(of(vhost)::remove);
    return Future.succeededFuture(closed);
  }

  @Override
  public Future<Boolean> channelOpen(String vhost, String channel) {
    return Future.succeededFuture(of(vhost).contains(channel));
  }

  @Override
  public Future<List<String>> channels(String vhost) {
    return Future.succeededFuture(of(vhost).stream().sorted().toList());
  }

  @Override
  public Future<Integer> channelCount(String vhost) {
    return Future.succeededFuture(of(vhost).size());
  }

  @Override
  public Future<String> historyRules(String vhost) {
    return Future.succeededFuture(historyRules.get(vhost));
  }

  @Override
  public Future<Void> setHistoryRules(String vhost, String rules) {
    if (rules == null) {
      historyRules.remove(vhost);
    } else {
      historyRules.put(vhost, rules);
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<Boolean> loaded() {
    return Future.succeededFuture(loaded);
  }

  @Override
  public Future<Void> markLoaded() {
    loaded = true;
    return Future.succeededFuture();
  }
}
