package io.webrocket.frontend;

import io.webrocket.config.LimitsSettings;
import io.webrocket.config.VhostSettings;
import java.util.List;
import java.util.Map;
import io.vertx.core.shareddata.LocalMap;

/**
 * Who may open a WebSocket, decided before the upgrade: the Origin ({@code websocket.allowedOrigins},
 * or a declared vhost's {@code origins}), handshakes under way ({@code limits.handshakesInFlight},
 * shared out over the endpoint instances), and open connections per node and per vhost
 * ({@code limits.connectionsPerNode}, {@code limits.connectionsPerVhost}).
 *
 * <p>The connection counts are node-wide, shared by every endpoint instance (each on its own
 * event loop) through one Vert.x local map. Each count is taken with one atomic conditional
 * increment ({@link LocalMap#compute}, atomic per key), so instances racing for the last place
 * cannot both get it: the limits are never overshot. A connection that gets its node place but
 * not its vhost's gives the node place back. One instance per endpoint instance; the
 * handshake count is confined to its event loop.
 */
final class Admission {
  /** Node-wide counts: the key {@link #NODE} for all connections, the vhost's path for its own. */
  private final LocalMap<String, Integer> counts;
  private static final String NODE = "";
  private final int instances;
  private LimitsSettings limits;
  private Map<String, VhostSettings> declaredVhosts;
  private List<String> allowedOrigins;
  private int handshakesInFlight;

  Admission(LocalMap<String, Integer> counts, int instances) {
    this.counts = counts;
    this.instances = instances;
  }

  /** The live settings: {@code limits}, the declared {@code vhosts}, {@code websocket.allowedOrigins}. */
  void configure(LimitsSettings limits, Map<String, VhostSettings> declaredVhosts, List<String> allowedOrigins) {
    this.limits = limits;
    this.declaredVhosts = declaredVhosts;
    this.allowedOrigins = allowedOrigins;
  }

  /** The vhost's own {@code origins} list if declared, else {@code websocket.allowedOrigins}; empty allows all. */
  boolean originAllowed(String vhost, String origin) {
    VhostSettings declared = declaredVhosts.get(vhost);
    List<String> allowed = declared != null && declared.origins() != null ? declared.origins() : allowedOrigins;
    return allowed == null || allowed.isEmpty() || (origin != null && allowed.contains(origin));
  }

  /** Counts a handshake under way, this instance's share of the limit permitting; false if over. */
  boolean handshakeStarted() {
    if (handshakesInFlight >= Math.max(1, limits.handshakesInFlight() / instances)) {
      return false;
    }
    handshakesInFlight++;
    return true;
  }

  void handshakeEnded() {
    handshakesInFlight--;
  }

  /** Counts a connection against the node and vhost limits; false (and nothing counted) if over either. */
  boolean admit(String vhost) {
    if (!take(NODE, limits.connectionsPerNode())) {
      return false;
    }
    if (!take(vhost, limits.connectionsPerVhost())) {
      give(NODE);
      return false;
    }
    return true;
  }

  /** Gives back what {@link #admit} counted. */
  void release(String vhost) {
    give(NODE);
    give(vhost);
  }

  /** Open connections on this node (all endpoint instances). */
  int open() {
    return counts.getOrDefault(NODE, 0);
  }

  /** One atomic step: the count goes up by one if it is below {@code limit}. */
  private boolean take(String key, int limit) {
    boolean[] taken = {false};
    counts.compute(key, (k, n) -> {
      int now = n == null ? 0 : n;
      if (now >= limit) {
        return n;
      }
      taken[0] = true;
      return now + 1;
    });
    return taken[0];
  }

  /** One atomic step: the count goes down by one; a count of zero is removed (the map holds only vhosts in use). */
  private void give(String key) {
    counts.compute(key, (k, n) -> n == null || n <= 1 ? null : n - 1);
  }
}
