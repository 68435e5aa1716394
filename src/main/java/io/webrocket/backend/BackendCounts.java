package io.webrocket.backend;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's backend connections, shared by the endpoint's instances (one per event loop):
 * how many are open and how many have not sent a complete first message. The limits
 * ({@code limits.backendConnectionsPerNode}, {@code limits.backendConnectionsUnidentified}) are
 * per node, like the WebSocket handshakes'. Exposed as the gauges
 * {@code webrocket_backend_connections} and {@code webrocket_backend_connections_unidentified}.
 */
final class BackendCounts implements Shareable {
  private final AtomicLong open;
  private final AtomicLong unidentified;

  private BackendCounts(io.webrocket.metrics.Metrics metrics) {
    open = metrics.backendConnections();
    unidentified = metrics.backendConnectionsUnidentified();
  }

  static BackendCounts of(Vertx vertx, io.webrocket.metrics.Metrics metrics) {
    return vertx.sharedData().<String, BackendCounts>getLocalMap("webrocket.backend")
        .computeIfAbsent("counts", k -> new BackendCounts(metrics));
  }

  /**
   * Counts a new connection in, or returns why it is refused ({@code connections} or
   * {@code unidentified}) and counts nothing.
   */
  String admit(int maxOpen, int maxUnidentified) {
    if (open.incrementAndGet() > maxOpen) {
      open.decrementAndGet();
      return "connections";
    }
    if (unidentified.incrementAndGet() > maxUnidentified) {
      unidentified.decrementAndGet();
      open.decrementAndGet();
      return "unidentified";
    }
    return null;
  }

  void identified() {
    unidentified.decrementAndGet();
  }

  void closed() {
    open.decrementAndGet();
  }
}
