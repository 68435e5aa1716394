package io.webrocket.backend;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Status;
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
  private static final Logger ACCESS = LoggerFactory.getLogger("webrocket.access");

  private final Set<BackendConnection> connections = new HashSet<>();
  private NetServer server;
  private int maxMessageSize;
  private int maxPipelined;
  private long heartbeatIntervalMs;
  private long workerExpiryNs;

  @Override
  public Future<?> start() {
    JsonObject c = config();
    maxMessageSize = c.getInteger("maxMessageSize");
    maxPipelined = c.getInteger("maxPipelined");
    heartbeatIntervalMs = c.getLong("heartbeatIntervalMs");
    workerExpiryNs = TimeUnit.MILLISECONDS.toNanos(c.getLong("workerExpiryMs"));
    NetServerOptions options = new NetServerOptions()
        .setHost(c.getString("host"))
        .setPort(c.getInteger("port"))
        .setTcpNoDelay(true)
        .setReuseAddress(true)
        .setReadIdleTimeout(c.getLong("idleTimeoutMs").intValue())
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
    Tls.apply(c.getJsonObject("tls"), options);
    if (Tls.enabled(c.getJsonObject("tls")) && c.getJsonObject("tls").getString("clientCa") != null) {
      options.setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    server = vertx.createNetServer(options).connectHandler(socket -> {
      BackendConnection conn = new BackendConnection(socket, this);
      connections.add(conn);
      conn.start();
    });
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    List.copyOf(connections).forEach(BackendConnection::quit);
    return server.close();
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

  io.vertx.core.Vertx vertx() {
    return vertx;
  }

  int maxMessageSize() {
    return maxMessageSize;
  }

  int maxPipelined() {
    return maxPipelined;
  }

  long heartbeatIntervalMs() {
    return heartbeatIntervalMs;
  }

  long workerExpiryNs() {
    return workerExpiryNs;
  }

  void access(String vhost, Status status, List<String> frames) {
    if (ACCESS.isDebugEnabled()) {
      ACCESS.debug("backend[{}]: {} {}", vhost == null ? "" : vhost, status == null ? "" : status.code,
          frames.isEmpty() ? "" : frames.get(0).contains(":") ? "<identity>" : frames.get(0));
    }
  }
}
