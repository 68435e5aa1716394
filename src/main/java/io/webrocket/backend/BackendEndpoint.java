package io.webrocket.backend;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.config.Tls;
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
 * <p>Config: the {@code backend} section, plus {@code tls}.
 */
public final class BackendEndpoint extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(BackendEndpoint.class);

  private final Set<BackendConnection> connections = new HashSet<>();
  private NetServer server;
  private io.webrocket.metrics.Metrics metrics;
  private int maxMessageSize;
  private int maxPipelined;
  private long heartbeatIntervalMs;
  private long workerExpiryNs;
  private long idleTimeoutNs;
  private long idleTimer;
  private JsonObject limits;

  private String nodeId;

  @Override
  public Future<?> start() {
    nodeId = io.webrocket.cluster.Clustering.nodeId(vertx);
    JsonObject c = config();
    metrics = io.webrocket.metrics.Metrics.of(c.getString("metrics"));
    limits = c.getJsonObject("limits");
    maxMessageSize = c.getInteger("maxMessageSize");
    maxPipelined = c.getInteger("maxPipelined");
    heartbeatIntervalMs = c.getLong("heartbeatIntervalMs");
    workerExpiryNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("workerExpiryMs"));
    NetServerOptions options = new NetServerOptions()
        .setHost(c.getString("host"))
        .setPort(c.getInteger("port"))
        .setTcpNoDelay(true)
        .setReuseAddress(true);
    // Not Vert.x's read-idle timeout: a client waiting for its reply is not idle, however long
    // the registry takes (say, a vhost's registry still starting on a busy node).
    idleTimeoutNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("idleTimeoutMs"));
    idleTimer = vertx.setPeriodic(Math.max(50, c.getLong("idleTimeoutMs") / 4), t -> closeIdle());
    Tls.apply(c.getJsonObject("tls"), options);
    if (Tls.enabled(c.getJsonObject("tls")) && c.getJsonObject("tls").getString("clientCa") != null) {
      options.setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(), m -> server.updateSSLOptions(Tls.sslOptions(m.body(), true), true)
        .onFailure(err -> LOG.error("TLS reload failed, keeping the previous certificate: {}", err.getMessage())));
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      limits = m.body().getJsonObject("limits");
      reconfigure(m.body().getJsonObject("backend"));
    });
    server = vertx.createNetServer(options).connectHandler(socket -> {
      BackendConnection conn = new BackendConnection(socket, this);
      connections.add(conn);
      conn.start();
    });
    return server.listen();
  }

  /**
   * Lets every connection finish (workers get {@code QT}, clients their in-flight replies),
   * then closes the server, which would otherwise cut them.
   */
  @Override
  public Future<?> stop() {
    vertx.cancelTimer(idleTimer);
    return Future.join(List.copyOf(connections).stream().map(BackendConnection::quit).toList())
        .transform(x -> server.close());
  }

  /** Live limits and timings, applied to existing connections too. */
  private void reconfigure(JsonObject c) {
    maxMessageSize = c.getInteger("maxMessageSize");
    maxPipelined = c.getInteger("maxPipelined");
    workerExpiryNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("workerExpiryMs"));
    heartbeatIntervalMs = c.getLong("heartbeatIntervalMs");
    connections.forEach(BackendConnection::reconfigured);
  }

  /** Closes the connections that have sent nothing for the idle timeout and are owed no reply. */
  private void closeIdle() {
    long now = System.nanoTime();
    List.copyOf(connections).stream().filter(c -> c.idle(now, idleTimeoutNs)).forEach(BackendConnection::close);
  }

  void closed(BackendConnection conn) {
    connections.remove(conn);
  }

  private void onEvent(Message<JsonObject> msg) {
    if ("vhostDeleted".equals(msg.body().getString("type"))) {
      String vhost = msg.body().getString("vhost");
      List.copyOf(connections).stream().filter(c -> vhost.equals(c.vhost())).forEach(BackendConnection::quit);
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
    return maxMessageSize;
  }

  int maxPipelined() {
    return maxPipelined;
  }

  int requestsPerSecond() {
    return limits.getInteger("backendRequestsPerSecond");
  }

  int requestsBurst() {
    return limits.getInteger("backendRequestsBurst");
  }

  long heartbeatIntervalMs() {
    return heartbeatIntervalMs;
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
}
