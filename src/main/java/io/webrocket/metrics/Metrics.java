package io.webrocket.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * WebRocket's own meters, on the node's Micrometer registry (scraped by Prometheus at
 * {@code /metrics} on the admin endpoint). Names follow Prometheus conventions once rendered:
 * counters end in {@code _total}, timers are in seconds.
 *
 * <p>Meters are process-wide by nature, so this is the one place holding shared state outside
 * the verticles: gauges are backed by atomic counters that several endpoint instances update.
 * Counter lookups allocate; hot paths cache the returned counters per vhost.
 */
public final class Metrics {
  private static final Map<String, Metrics> BY_REGISTRY = new ConcurrentHashMap<>();

  public static final String CONNECTIONS = "webrocket.websocket.connections";
  public static final String SUBSCRIPTIONS = "webrocket.subscriptions";
  public static final String CHANNELS = "webrocket.channels";
  public static final String WORKERS = "webrocket.workers";
  public static final String BROADCASTS = "webrocket.broadcasts";
  public static final String DELIVERED = "webrocket.frames.delivered";
  public static final String DROPPED = "webrocket.frames.dropped";

  private final MeterRegistry registry;
  private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();

  private Metrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The meters of the node whose Vert.x metrics registry is named {@code registryName}. */
  public static Metrics of(String registryName) {
    return BY_REGISTRY.computeIfAbsent(registryName, n -> {
      MeterRegistry r = n == null ? null : BackendRegistries.getNow(n);
      return new Metrics(r != null ? r : new SimpleMeterRegistry());
    });
  }

  /** Forgets a stopped node's meters (tests start many nodes in one JVM). */
  public static void release(String registryName) {
    BY_REGISTRY.remove(registryName);
  }

  public MeterRegistry registry() {
    return registry;
  }

  private AtomicLong gauge(String name, String description, String vhost) {
    return gauges.computeIfAbsent(name + "|" + vhost, k -> {
      AtomicLong value = new AtomicLong();
      Gauge.builder(name, value, AtomicLong::get)
          .description(description)
          .tags(Tags.of("vhost", vhost))
          .register(registry);
      return value;
    });
  }

  /**
   * The sum of a gauge or counter over all its tags (every vhost, every source), e.g.
   * {@code total(CONNECTIONS)}; 0 while no meter of that name exists yet.
   */
  public double total(String name) {
    double sum = 0;
    for (Gauge g : registry.find(name).gauges()) {
      sum += g.value();
    }
    for (Counter c : registry.find(name).counters()) {
      sum += c.count();
    }
    return sum;
  }

  // ---- gauges ----

  public AtomicLong connections(String vhost) {
    return gauge(CONNECTIONS, "Open WebSocket connections", vhost);
  }

  public AtomicLong subscriptions(String vhost) {
    return gauge(SUBSCRIPTIONS, "Channel subscriptions of open WebSocket connections", vhost);
  }

  public AtomicLong channels(String vhost) {
    return gauge(CHANNELS, "Open channels", vhost);
  }

  public AtomicLong workers(String vhost) {
    return gauge(WORKERS, "Backend workers connected", vhost);
  }

  private AtomicLong plainGauge(String name, String description) {
    return gauges.computeIfAbsent(name, k -> {
      AtomicLong value = new AtomicLong();
      Gauge.builder(name, value, AtomicLong::get).description(description).register(registry);
      return value;
    });
  }

  public AtomicLong backendConnections() {
    return plainGauge("webrocket.backend.connections", "Open backend (WBP) connections");
  }

  public AtomicLong backendConnectionsUnidentified() {
    return plainGauge("webrocket.backend.connections.unidentified",
        "Backend (WBP) connections that have not sent a complete first message yet");
  }

  // ---- counters ----

  /** {@code reason}: {@code connections} (the node's limit) or {@code unidentified}. */
  public Counter backendConnectionsRefused(String reason) {
    return Counter.builder("webrocket.backend.connections.refused").description("Backend (WBP) connections refused with ER 503")
        .tags("reason", reason).register(registry);
  }

  /**
   * WARI {@code PUT /VHOST/history} bodies refused by a bound. {@code reason}: {@code bodyBytes}
   * (over {@code history.maxRulesBodyBytes}, 413) or {@code rules} (more patterns than
   * {@code history.maxRulesPerVhost}, 400).
   */
  public Counter historyRulesRefused(String reason) {
    return Counter.builder("webrocket.history.rules.refused")
        .description("WARI history rule changes refused by a bound (history.maxRulesBodyBytes, history.maxRulesPerVhost)")
        .tags("reason", reason).register(registry);
  }

  /**
   * {@code reason}: {@code pipelined} (backend.maxPipelined replies owed), {@code outbound}
   * (backend.outboundQueueBytes unsent) or {@code revoked} (token regenerated).
   */
  public Counter backendReadsPaused(String reason) {
    return Counter.builder("webrocket.backend.reads.paused").description("Times a backend connection stopped being read")
        .tags("reason", reason).register(registry);
  }

  /** {@code source}: {@code browser} (WWFP broadcast) or {@code backend} (WBP BC). */
  public Counter broadcasts(String vhost, String source) {
    return Counter.builder(BROADCASTS).description("Broadcasts received")
        .tags("vhost", vhost, "source", source).register(registry);
  }

  public Counter delivered(String vhost) {
    return Counter.builder(DELIVERED).description("Frames written to WebSocket subscribers")
        .tags("vhost", vhost).register(registry);
  }

  public Counter dropped(String vhost) {
    return Counter.builder(DROPPED).description("Frames dropped for slow consumers")
        .tags("vhost", vhost).register(registry);
  }

  /** Pongs not written because the browser's socket was over {@code websocket.outboundQueueBytes}. */
  public Counter pongsDropped(String vhost) {
    return Counter.builder("webrocket.websocket.pongs.dropped")
        .description("Pongs dropped: the browser's socket was over its outbound bound")
        .tags("vhost", vhost).register(registry);
  }

  /**
   * A direct reply ({@code :subscribed} with its member list, {@code :error}, acknowledgements)
   * left a browser's socket over {@code websocket.outboundQueueBytes}: reading from it paused
   * until it drains.
   */
  public Counter readsPaused(String vhost) {
    return Counter.builder("webrocket.websocket.reads.paused")
        .description("Reads paused: a reply left the browser's socket over its outbound bound")
        .tags("vhost", vhost).register(registry);
  }

  /**
   * Presence announcements dropped by {@code presence.heldPerChannel}, by {@code reason} (a fixed
   * name): kept by a node's presence service or by an endpoint instance for joins under way.
   */
  public Counter presenceDropped(String reason) {
    return Counter.builder("webrocket.presence.dropped")
        .description("Presence announcements dropped by presence.heldPerChannel").tag("reason", reason)
        .register(registry);
  }

  /**
   * A browser request refused by a bound, by {@code limit} (a fixed name, never peer input):
   * {@code controlFrames} (a ping or pong over the control-frame rate), {@code presenceData}
   * (subscribe data over {@code limits.presenceDataBytes}), {@code permissionMatch} (a permission
   * match that took more than {@code limits.permissionMatchSteps}).
   */
  public Counter websocketRefused(String limit) {
    return Counter.builder("webrocket.websocket.refused")
        .description("Browser requests refused by a bound, by limit")
        .tags("limit", limit).register(registry);
  }

  /**
   * A browser socket closed by the broker for a bound, by {@code reason} (a fixed name):
   * {@code controlFrames} (1008), {@code messageTimeout} (1008), {@code slowConsumer} (1008),
   * {@code pingTimeout} (1001).
   */
  public Counter websocketPolicyCloses(String reason) {
    return Counter.builder("webrocket.websocket.policy.closes")
        .description("Browser sockets closed by the broker for a bound, by reason")
        .tags("reason", reason).register(registry);
  }

  public Counter triggers(String vhost) {
    return Counter.builder("webrocket.triggers").description("Triggers handed to a worker")
        .tags("vhost", vhost).register(registry);
  }

  public Counter triggersRefused(String vhost) {
    return Counter.builder("webrocket.triggers.refused").description("Triggers refused with 503: no worker")
        .tags("vhost", vhost).register(registry);
  }

  /** {@code endpoint}: {@code websocket} or {@code backend}. */
  public Counter authFailures(String vhost, String endpoint) {
    return Counter.builder("webrocket.auth.failures").description("Failed authentications")
        .tags("vhost", vhost, "endpoint", endpoint).register(registry);
  }

  public Counter backendRequests(String command, int code) {
    return Counter.builder("webrocket.backend.requests").description("Backend (WBP) requests by command and status")
        .tags("command", command, "code", Integer.toString(code)).register(registry);
  }

  public Timer storeOperation(String operation) {
    return Timer.builder("webrocket.store.operation").description("Durable store operation latency")
        .tags("operation", operation).register(registry);
  }
}
