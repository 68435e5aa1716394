package io.webrocket.backend;

import io.webrocket.bus.NodeId;

import io.webrocket.protocol.Wbp;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.config.BackendSettings;
import io.webrocket.config.LimitsSettings;
import io.webrocket.config.Settings;
import io.webrocket.config.Tls;
import io.webrocket.config.TlsSettings;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend endpoint: WBP over TCP for clients and workers. Deployed once per event loop,
 * all instances sharing the port.
 *
 * <p>Config: the node's whole configuration (its {@code backend}, {@code limits} and {@code tls}
 * sections apply), plus {@code metrics}, the name of the node's metrics registry.
 */
public final class BackendEndpoint extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(BackendEndpoint.class);

  private final Set<BackendConnection> connections = new HashSet<>();
  private NetServer server;
  private io.webrocket.metrics.Metrics metrics;
  /** The live part of the backend section and the limits, swapped whole on reload (see {@link #apply}). */
  private BackendSettings backend;
  private LimitsSettings limits;
  private long messageTimeoutNs;
  private long messageTimer;
  /** Connections of this instance that have not sent a complete first message yet. */
  private final Set<BackendConnection> unidentified = new HashSet<>();
  /** Open and unidentified connections of every instance on this node: the limits are per node. */
  private BackendCounts counts;
  private long workerExpiryNs;
  private long idleTimeoutNs;
  private long idleTimer;

  private String nodeId;
  private io.webrocket.history.Histories histories;
  private io.webrocket.history.HistoryAppender historyAppender;

  /** The node's channel histories (policies, reads). */
  io.webrocket.history.Histories histories() {
    return histories;
  }

  /** Appends a broadcast of a channel with history, then publishes it with its offset. */
  io.webrocket.history.HistoryAppender historyAppender() {
    return historyAppender;
  }

  @Override
  public Future<?> start() {
    nodeId = NodeId.of(vertx);
    JsonObject c = config();
    metrics = io.webrocket.metrics.Metrics.of(c.getString("metrics"));
    Settings settings = Settings.parse(c);
    apply(settings);
    BackendSettings started = settings.backend();
    counts = BackendCounts.of(vertx, metrics);
    histories = io.webrocket.history.Histories.of(vertx, c.getString("metrics"), settings.history());
    historyAppender = new io.webrocket.history.HistoryAppender(vertx, histories);
    // The check period is fixed at start; a reloaded timeout is checked at that pace.
    messageTimer = vertx.setPeriodic(Math.max(50, started.messageTimeoutMs() / 4), t -> closeOverdue());
    NetServerOptions options = new NetServerOptions()
        .setHost(started.host())
        .setPort(started.port())
        .setTcpNoDelay(true)
        .setReuseAddress(true);
    // Not Vert.x's read-idle timeout: a client waiting for its reply is not idle, however long
    // the registry takes (say, a vhost's registry still starting on a busy node).
    idleTimeoutNs = TimeUnit.MILLISECONDS.toNanos(started.idleTimeoutMs());
    idleTimer = vertx.setPeriodic(Math.max(50, started.idleTimeoutMs() / 4), t -> closeIdle());
    Tls.apply(settings.tls(), options);
    if (settings.tls().enabled() && settings.tls().hasClientCa()) {
      options.setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(),
        m -> server.updateSSLOptions(Tls.sslOptions(TlsSettings.of(m.body()), true), true)
            .onFailure(err -> LOG.error("TLS reload failed, keeping the previous certificate: {}", err.getMessage())));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      Settings next = Settings.parse(m.body());
      histories.reconfigure(next.history());
      apply(next);
    });
    server = vertx.createNetServer(options).connectHandler(this::accept);
    return server.listen();
  }

  /**
   * A new connection, unless the node already has {@code limits.backendConnectionsPerNode}
   * connections or {@code limits.backendConnectionsUnidentified} that have not yet sent a first
   * message: then it gets {@code ER 503} and is closed (counted in
   * {@code webrocket_backend_connections_refused_total}).
   */
  private void accept(io.vertx.core.net.NetSocket socket) {
    String refused = counts.admit(limits.backendConnectionsPerNode(), limits.backendConnectionsUnidentified());
    if (refused != null) {
      metrics.backendConnectionsRefused(refused).increment();
      socket.write(Wbp.error(io.webrocket.protocol.Status.SERVICE_UNAVAILABLE));
      socket.close();
      return;
    }
    BackendConnection conn = new BackendConnection(socket, this);
    connections.add(conn);
    unidentified.add(conn);
    conn.start();
  }

  /** {@code conn} sent its first message or is gone: it no longer counts as unidentified. */
  void identifiedOrGone(BackendConnection conn) {
    if (unidentified.remove(conn)) {
      counts.identified();
    }
  }

  /**
   * Lets every connection finish (workers get {@code QT}, clients their in-flight replies),
   * then closes the server, which would otherwise cut them.
   */
  @Override
  public Future<?> stop() {
    vertx.cancelTimer(idleTimer);
    vertx.cancelTimer(messageTimer);
    return Future.join(List.copyOf(connections).stream().map(BackendConnection::quit).toList())
        .transform(x -> server.close());
  }

  /**
   * At start and on every reload: limits and timings, applied to existing connections too. The
   * address, instances and idle timeout are read at start only (they need a restart).
   */
  private void apply(Settings settings) {
    backend = settings.backend();
    limits = settings.limits();
    messageTimeoutNs = TimeUnit.MILLISECONDS.toNanos(backend.messageTimeoutMs());
    workerExpiryNs = TimeUnit.MILLISECONDS.toNanos(backend.workerExpiryMs());
    connections.forEach(BackendConnection::reconfigured);
  }

  /** Closes the connections that have sent nothing for the idle timeout and are owed no reply. */
  private void closeIdle() {
    long now = System.nanoTime();
    List.copyOf(connections).stream().filter(c -> c.idle(now, idleTimeoutNs)).forEach(BackendConnection::close);
  }

  /** Cuts the connections whose message has been arriving for longer than {@code backend.messageTimeoutMs}. */
  private void closeOverdue() {
    long now = System.nanoTime();
    List.copyOf(connections).stream().filter(c -> c.overdue(now, messageTimeoutNs)).forEach(BackendConnection::onOverdue);
  }

  void closed(BackendConnection conn) {
    identifiedOrGone(conn);
    if (connections.remove(conn)) {
      counts.closed();
    }
  }

  private void onEvent(Message<JsonObject> msg) {
    String vhost = msg.body().getString("vhost");
    switch (String.valueOf(msg.body().getString("type"))) {
      case "vhostDeleted" -> List.copyOf(connections).stream().filter(c -> vhost.equals(c.vhost())).forEach(BackendConnection::quit);
      case "tokenRegenerated" -> {
        String previous = msg.body().getString("previous");
        List.copyOf(connections).stream().filter(c -> vhost.equals(c.vhost())).forEach(c -> c.revoke(previous));
      }
      default -> {}
    }
  }

  /** This node's cluster id: the registries note it with subscribers and workers to forget them with the node. */
  String nodeId() {
    return nodeId;
  }

  io.vertx.core.Vertx vertx() {
    return vertx;
  }

  /** This node's view of its vhosts' tokens and channels (a backend BC is checked there first). */
  io.webrocket.vhost.NodeView view() {
    if (view == null) {
      view = new io.webrocket.vhost.NodeView(vertx);
    }
    return view;
  }

  private io.webrocket.vhost.NodeView view;

  /**
   * A worker of {@code vhost} joined this node's lobby: listed by the admin API (which gathers
   * every node's lobby) and counted in {@code webrocket_workers}. Triggers do not use the list:
   * they reach the workers' own event-bus consumers.
   */
  void workerJoined(String vhost, String worker) {
    if (view().workerJoined(vhost, worker)) {
      metrics.workers(vhost).incrementAndGet();
    }
  }

  void workerLeft(String vhost, String worker) {
    if (view().workerLeft(vhost, worker)) {
      metrics.workers(vhost).decrementAndGet();
    }
  }

  int maxMessageSize() {
    return backend.maxMessageSize();
  }

  int maxPipelined() {
    return backend.maxPipelined();
  }

  int outboundQueueBytes() {
    return backend.outboundQueueBytes();
  }

  int maxIdentityLength() {
    return backend.maxIdentityLength();
  }

  int requestsPerSecond() {
    return limits.backendRequestsPerSecond();
  }

  int requestsBurst() {
    return limits.backendRequestsBurst();
  }

  long heartbeatIntervalMs() {
    return backend.heartbeatIntervalMs();
  }

  long workerExpiryNs() {
    return workerExpiryNs;
  }

  io.webrocket.metrics.Metrics metrics() {
    return metrics;
  }

  /** Hot-path counters, cached: Micrometer lookups allocate. Confined to this instance's event loop. */
  private final java.util.Map<String, io.micrometer.core.instrument.Counter> counters = new java.util.HashMap<>();

  io.micrometer.core.instrument.Counter requests(String command, int code) {
    return counters.computeIfAbsent(command + " " + code, k -> metrics.backendRequests(command, code));
  }

  io.micrometer.core.instrument.Counter broadcasts(String vhost) {
    return counters.computeIfAbsent("BC " + vhost, k -> metrics.broadcasts(vhost, "backend"));
  }

  /** {@code vhost}: a vhost that exists, or {@link BackendConnection#UNKNOWN_VHOST_LABEL}. */
  io.micrometer.core.instrument.Counter authFailures(String vhost) {
    return counters.computeIfAbsent("402 " + vhost, k -> metrics.authFailures(vhost, "backend"));
  }

  io.micrometer.core.instrument.Counter readsPaused(String reason) {
    return counters.computeIfAbsent("paused " + reason, k -> metrics.backendReadsPaused(reason));
  }
}
