package io.webrocket.frontend;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The connections of one endpoint instance, by vhost and by channel: who gets a fan-out frame.
 * Confined to the instance's event loop.
 *
 * <p>Fan-out is written at the end of the event-loop pass (see {@link FanoutBatch}) to the
 * subscribers a channel has then: every change to a channel's subscribers first runs the
 * {@link #beforeChange} hook, which writes out what is pending, so who receives a message is
 * decided as of its arrival.
 */
final class LocalSubscribers {
  private final io.webrocket.metrics.Metrics metrics;
  /** Where the node's subscriber counts are kept for the admin API (gathered from every node). */
  private final io.webrocket.vhost.NodeView view;
  private final Map<String, Set<BrowserConnection>> byVhost = new HashMap<>();
  private final Map<String, Map<String, Set<BrowserConnection>>> byChannel = new HashMap<>();
  private Runnable beforeChange = () -> {};

  LocalSubscribers(io.webrocket.metrics.Metrics metrics, io.webrocket.vhost.NodeView view) {
    this.metrics = metrics;
    this.view = view;
  }

  /** Runs before any channel's subscriber set changes: seals the pending fan-out. */
  void beforeChange(Runnable hook) {
    this.beforeChange = hook;
  }

  void connected(BrowserConnection c) {
    if (byVhost.computeIfAbsent(c.vhost, v -> new LinkedHashSet<>()).add(c)) {
      metrics.connections(c.vhost).incrementAndGet();
    }
  }

  void disconnected(BrowserConnection c) {
    Set<BrowserConnection> conns = byVhost.get(c.vhost);
    if (conns != null && conns.remove(c)) {
      metrics.connections(c.vhost).decrementAndGet();
      if (conns.isEmpty()) {
        byVhost.remove(c.vhost);
      }
    }
    for (String channel : c.channels) {
      remove(c, channel);
    }
  }

  void add(BrowserConnection c, String channel) {
    beforeChange.run();
    if (byChannel.computeIfAbsent(c.vhost, v -> new HashMap<>()).computeIfAbsent(channel, ch -> new LinkedHashSet<>()).add(c)) {
      metrics.subscriptions(c.vhost).incrementAndGet();
      view.count(c.vhost, channel, 1);
    }
  }

  void remove(BrowserConnection c, String channel) {
    beforeChange.run();
    Map<String, Set<BrowserConnection>> channels = byChannel.get(c.vhost);
    if (channels == null) {
      return;
    }
    Set<BrowserConnection> subs = channels.get(channel);
    if (subs != null && subs.remove(c)) {
      metrics.subscriptions(c.vhost).decrementAndGet();
      view.count(c.vhost, channel, -1);
      if (subs.isEmpty()) {
        channels.remove(channel);
        if (channels.isEmpty()) {
          byChannel.remove(c.vhost);
        }
      }
    }
  }

  Collection<BrowserConnection> subscribers(String vhost, String channel) {
    Map<String, Set<BrowserConnection>> channels = byChannel.get(vhost);
    if (channels == null) {
      return List.of();
    }
    Set<BrowserConnection> subs = channels.get(channel);
    return subs == null ? List.of() : subs;
  }

  /** Forgets a closed channel; its subscribers' own channel sets are updated too. */
  void channelClosed(String vhost, String channel) {
    beforeChange.run();
    Map<String, Set<BrowserConnection>> channels = byChannel.get(vhost);
    if (channels == null) {
      return;
    }
    Set<BrowserConnection> subs = channels.remove(channel);
    if (subs != null) {
      subs.forEach(c -> c.channelClosed(channel));
      metrics.subscriptions(vhost).addAndGet(-subs.size());
      view.count(vhost, channel, -subs.size());
    }
    if (channels.isEmpty()) {
      byChannel.remove(vhost);
    }
  }

  Collection<BrowserConnection> connections(String vhost) {
    Set<BrowserConnection> conns = byVhost.get(vhost);
    return conns == null ? List.of() : List.copyOf(conns);
  }

  Collection<BrowserConnection> all() {
    return byVhost.values().stream().flatMap(Set::stream).toList();
  }
}
