package io.webrocket.history;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Shareable;
import io.webrocket.history.HistorySettings.Policy;
import java.util.List;

/**
 * A node's channel histories: the {@link ChannelHistory} (its own memory, or the cluster's ring
 * buffers) and the settings in force, shared by the node's verticles. One per node (kept in the
 * node's local shared data, not in a static), made by the first verticle that asks.
 */
public final class Histories implements Shareable {
  private static final String SHARED = "webrocket.history";
  /**
   * The rules set through the admin API, per vhost (the rules' JSON), in the node's local shared
   * data: the vhost directory writes them (from the grid) whether or not an endpoint has made
   * this node's histories yet. A vhost listed here uses these rules instead of the file's.
   */
  private static final String OVERRIDES = "webrocket.history.overrides";
  /** Parsed override rules by their JSON; bounded (cleared when full: it is only a cache). */
  private static final int PARSED_MAX = 1024;
  private static final long SWEEP_MS = 1_000;

  private final ChannelHistory store;
  private final LocalChannelHistory local;
  private final HistoryMetrics metrics;
  private volatile HistorySettings settings = HistorySettings.NONE;
  private final io.vertx.core.shareddata.LocalMap<String, String> overrides;
  private final java.util.Map<String, java.util.List<HistorySettings.Rule>> parsed =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Histories(Vertx vertx, ChannelHistory store, LocalChannelHistory local, HistoryMetrics metrics) {
    this.overrides = vertx.sharedData().getLocalMap(OVERRIDES);
    this.store = store;
    this.local = local;
    this.metrics = metrics;
  }

  /**
   * The node's histories, made on first use: in a cluster the ring buffers, else this node's
   * memory. {@code settings} is the node's parsed {@code history} section and vhost rules
   * ({@code Settings.history()}).
   */
  public static Histories of(Vertx vertx, String metricsRegistry, HistorySettings settings) {
    var shared = vertx.sharedData().<String, Histories>getLocalMap(SHARED);
    Histories h = shared.computeIfAbsent("node", k -> {
      HistoryMetrics m = new HistoryMetrics(io.webrocket.metrics.Metrics.of(metricsRegistry).registry());
      ChannelHistory cluster = io.webrocket.cluster.ClusterChannelHistory.of(vertx, m);
      LocalChannelHistory mem = new LocalChannelHistory(HistorySettings.NONE.maxBytesPerNode(), m);
      Histories made = new Histories(vertx, cluster != null ? cluster : mem, cluster != null ? null : mem, m);
      m.gauge("webrocket.history.bytes", "Bytes of channel history kept in this node's memory", mem::bytes);
      m.gauge("webrocket.history.entries", "Channel history events kept in this node's memory", mem::entries);
      m.gauge("webrocket.history.channels", "Channels with a history in this node's memory", mem::channels);
      if (cluster == null) {
        vertx.setPeriodic(SWEEP_MS, t -> mem.sweep(made::policy, System.currentTimeMillis()));
      } else if (cluster instanceof io.webrocket.cluster.ClusterChannelHistory c) {
        // A closed channel's epoch and ring proxy are forgotten on every node (the registry drops the ring).
        vertx.eventBus().<JsonObject>consumer(io.webrocket.bus.Addresses.events(), ev -> {
          if ("channelClosed".equals(ev.body().getString("type"))) {
            c.forget(ev.body().getString("vhost"), ev.body().getString("channel"));
          }
        });
      }
      return made;
    });
    h.reconfigure(settings);
    return h;
  }

  /** The node's histories if a verticle has made them (the endpoints do, at start), else null. */
  public static Histories existing(Vertx vertx) {
    return vertx.sharedData().<String, Histories>getLocalMap(SHARED).get("node");
  }

  /** Forgets a closed channel's history, if this node keeps histories. */
  public static io.vertx.core.Future<Void> dropChannel(Vertx vertx, String vhost, String channel) {
    Histories h = vertx.sharedData().<String, Histories>getLocalMap(SHARED).get("node");
    return h == null ? io.vertx.core.Future.succeededFuture() : h.store.drop(vhost, channel).recover(err -> io.vertx.core.Future.succeededFuture());
  }

  /**
   * Applies a (re)loaded configuration's history settings, already parsed and checked by
   * {@code Settings.parse}: every verticle of the node calls it with the same value, and the last
   * one wins. The parsed admin rules are dropped, since the bounds they were checked against may
   * have changed.
   */
  public void reconfigure(HistorySettings next) {
    synchronized (this) {
      if (next == settings) {
        return;
      }
      settings = next;
      parsed.clear();
      if (local != null) {
        local.maxBytesPerNode(next.maxBytesPerNode());
      }
    }
  }

  public HistorySettings settings() {
    return settings;
  }

  /**
   * The history policy of a channel, or null: it keeps none. The vhost's rules set through the
   * admin API win over the file's for the whole vhost.
   */
  public Policy policy(String vhost, String channel) {
    List<HistorySettings.Rule> rules = overrideRules(vhost);
    return rules == null ? settings.policy(vhost, channel) : HistorySettings.match(rules, channel);
  }

  /** The rules in force for the vhost, as JSON, and where they come from ({@code "admin"} or {@code "file"}). */
  public JsonObject rulesInForce(String vhost) {
    List<HistorySettings.Rule> rules = overrideRules(vhost);
    JsonObject out = new JsonObject();
    if (rules == null) {
      return out.put("source", "file").put("rules", settings.rulesJson(vhost));
    }
    JsonObject r = new JsonObject();
    rules.forEach(rule -> r.put(rule.pattern(), rule.policy().toJson()));
    return out.put("source", "admin").put("rules", r);
  }

  private List<HistorySettings.Rule> overrideRules(String vhost) {
    String json = overrides.get(vhost);
    if (json == null) {
      return null;
    }
    List<HistorySettings.Rule> rules = parsed.get(json);
    if (rules == null) {
      HistorySettings s = settings;
      try {
        rules = HistorySettings.rules("history", new JsonObject(json), s.maxSize(), s.maxLifetimeMs(), s.maxBytesPerChannel());
      } catch (RuntimeException e) {
        // Checked when set; only a later reload that lowered the bounds makes them invalid: no history then.
        rules = List.of();
      }
      if (parsed.size() >= PARSED_MAX) {
        parsed.clear();
      }
      parsed.put(json, rules);
    }
    return rules;
  }

  /**
   * Sets ({@code rules} non-null) or removes the vhost's admin rules on this node. Called by the
   * vhost directory with what the grid holds; checked by {@link HistorySettings#rules} before.
   */
  public static void override(Vertx vertx, String vhost, String rules) {
    io.vertx.core.shareddata.LocalMap<String, String> m = vertx.sharedData().getLocalMap(OVERRIDES);
    if (rules == null) {
      m.remove(vhost);
    } else {
      m.put(vhost, rules);
    }
  }

  public ChannelHistory store() {
    return store;
  }

  public HistoryMetrics metrics() {
    return metrics;
  }
}
