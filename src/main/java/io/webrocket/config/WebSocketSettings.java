package io.webrocket.config;

import java.util.List;

/**
 * The {@code websocket} section: the browser endpoint (README, settings table). {@code host},
 * {@code port}, {@code instances} and raising {@code maxFrameSize} take effect after a restart;
 * the rest applies live.
 *
 * @param instances endpoint instances; 0: one per event loop
 * @param allowedOrigins allowed {@code Origin} values; empty allows all
 */
public record WebSocketSettings(
    String host,
    int port,
    int maxFrameSize,
    long pingIntervalMs,
    long triggerTimeoutMs,
    int outboundQueueBytes,
    long slowConsumerTimeoutMs,
    long handshakeTimeoutMs,
    long messageTimeoutMs,
    int instances,
    List<String> allowedOrigins) {

  public WebSocketSettings {
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  /** {@code host} must have been filled in from the top-level {@code host} already. */
  static WebSocketSettings parse(Section s) {
    return new WebSocketSettings(
        s.string("host"),
        s.integer("port", 0, 65535),
        s.integer("maxFrameSize", 1024, 16 * 1024 * 1024),
        s.number("pingIntervalMs", 100, 3_600_000),
        s.number("triggerTimeoutMs", 10, 600_000),
        s.integer("outboundQueueBytes", 4096, 64 * 1024 * 1024),
        s.number("slowConsumerTimeoutMs", 10, 3_600_000),
        s.number("handshakeTimeoutMs", 100, 600_000),
        s.number("messageTimeoutMs", 100, 600_000),
        s.integer("instances", 0, 256),
        s.origins("allowedOrigins"));
  }
}
