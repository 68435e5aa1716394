package io.webrocket.history;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Shareable;
import io.webrocket.history.HistorySettings.Policy;

/**
 * A node's channel histories: the {@link ChannelHistory} (its own memory, or the cluster's ring
 * buffers) and the settings in force, shared by the node's verticles. One per node (kept in the
 * node's local shared data, not in a static), made by the first verticle that asks.
 */
public final class Histories implements Shareable {
  private static final String SHARED = "webrocket.history";
  private static final long SWEEP_MS = 1_000;

  private final ChannelHistory store;
  private final LocalChannelHistory local;
  private final HistoryMetrics metrics;
  private volatile HistorySettings settings = HistorySettings.NONE;
  /** What the settings were parsed from: a reload with the same sections parses nothing. */
  private volatile JsonObject source;

  private Histories(ChannelHistory store, LocalChannelHistory local, HistoryMetrics metrics) {
    this.store = store;
    this.local = local;
    this.metrics = metrics;
  }

  /**
   * The node's histories, made on first use: in a cluster the ring buffers, else this node's
   * memory. {@code config} is the whole node configuration (or an endpoint's, which carries the
   * {@code history} and {@code vhosts} sections).
   */
  public static Histories of(Vertx vertx, String metricsRegistry, JsonObject config) {
    var shared = vertx.sharedData().<String, Histories>getLocalMap(SHARED);
    Histories h = shared.computeIfAbsent("node", k -> {
      HistoryMetrics m = new HistoryMetrics(io.webrocket.metrics.Metrics.of(metricsRegistry).registry());
      ChannelHistory cluster = io.webrocket.cluster.ClusterChannelHistory.of(vertx, m);
      LocalChannelHistory mem = new LocalChannelHistory(HistorySettings.NONE.maxBytesPerNode(), m);
      Histories made = new Histories(cluster != null ? cluster : mem, cluster != null ? null : mem, m);
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
    h.reconfigure(config);
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

  /** Applies a (re)loaded configuration; parses only when its history parts changed. */
  public void reconfigure(JsonObject config) {
    JsonObject parts = new JsonObject().put("history", config.getValue("history")).put("vhosts", config.getValue("vhosts"));
    synchronized (this) {
      if (parts.equals(source)) {
        return;
      }
      JsonObject withDefaults = parts.copy();
      withDefaults.put("history", HistorySettings.defaults().mergeIn(
          parts.getValue("history") instanceof JsonObject o ? o : new JsonObject()));
      if (!(withDefaults.getValue("vhosts") instanceof JsonObject)) {
        withDefaults.put("vhosts", new JsonObject());
      }
      settings = HistorySettings.parse(withDefaults);
      source = parts;
      if (local != null) {
        local.maxBytesPerNode(settings.maxBytesPerNode());
      }
    }
  }

  public HistorySettings settings() {
    return settings;
  }

  /** The history policy of a channel, or null: it keeps none. */
  public Policy policy(String vhost, String channel) {
    return settings.policy(vhost, channel);
  }

  public ChannelHistory store() {
    return store;
  }

  public HistoryMetrics metrics() {
    return metrics;
  }
}
