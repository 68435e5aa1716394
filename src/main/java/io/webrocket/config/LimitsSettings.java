package io.webrocket.config;

/**
 * The {@code limits} section: the bounds on what one peer may claim (README, settings table).
 * All apply live. The connection and handshake limits are per node; the rates per connection.
 */
public record LimitsSettings(
    int messagesPerSecond,
    int messagesBurst,
    int subscriptionsPerConnection,
    int connectionsPerNode,
    int connectionsPerVhost,
    int handshakesInFlight,
    int channelsPerVhost,
    int backendRequestsPerSecond,
    int backendRequestsBurst,
    int controlFramesPerSecond,
    int controlFramesBurst,
    int presenceDataBytes,
    int permissionMatchSteps,
    int backendConnectionsPerNode,
    int backendConnectionsUnidentified) {

  private static final int MIN = 1;
  private static final int MAX = 100_000_000;

  static LimitsSettings parse(Section s) {
    // Every key of the section, known or not, is a count from 1 to 10^8.
    for (String key : s.json().fieldNames()) {
      s.integer(key, MIN, MAX);
    }
    return new LimitsSettings(
        s.integer("messagesPerSecond", MIN, MAX),
        s.integer("messagesBurst", MIN, MAX),
        s.integer("subscriptionsPerConnection", MIN, MAX),
        s.integer("connectionsPerNode", MIN, MAX),
        s.integer("connectionsPerVhost", MIN, MAX),
        s.integer("handshakesInFlight", MIN, MAX),
        s.integer("channelsPerVhost", MIN, MAX),
        s.integer("backendRequestsPerSecond", MIN, MAX),
        s.integer("backendRequestsBurst", MIN, MAX),
        s.integer("controlFramesPerSecond", MIN, MAX),
        s.integer("controlFramesBurst", MIN, MAX),
        s.integer("presenceDataBytes", MIN, MAX),
        s.integer("permissionMatchSteps", MIN, MAX),
        s.integer("backendConnectionsPerNode", MIN, MAX),
        s.integer("backendConnectionsUnidentified", MIN, MAX));
  }
}
