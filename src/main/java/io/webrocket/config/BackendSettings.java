package io.webrocket.config;

/**
 * The {@code backend} section: the WBP endpoint (README, settings table). {@code host},
 * {@code port}, {@code instances} and {@code idleTimeoutMs} take effect after a restart; the
 * rest applies live, to existing connections too.
 *
 * @param instances endpoint instances; 0: one per event loop
 */
public record BackendSettings(
    String host,
    int port,
    int maxMessageSize,
    int maxPipelined,
    int outboundQueueBytes,
    long messageTimeoutMs,
    int maxIdentityLength,
    long idleTimeoutMs,
    long heartbeatIntervalMs,
    long workerExpiryMs,
    int instances) {

  /** {@code host} must have been filled in from the top-level {@code host} already. */
  static BackendSettings parse(Section s) {
    return new BackendSettings(
        s.string("host"),
        s.integer("port", 0, 65535),
        // WBP: never less than 16 KiB.
        s.integer("maxMessageSize", 16 * 1024, 64 * 1024 * 1024),
        s.integer("maxPipelined", 1, 1_000_000),
        s.integer("outboundQueueBytes", 4096, 64 * 1024 * 1024),
        s.number("messageTimeoutMs", 100, 3_600_000),
        s.integer("maxIdentityLength", 64, 65_536),
        s.number("idleTimeoutMs", 1000, 86_400_000),
        // Under 2 s: the Go worker's limit.
        s.number("heartbeatIntervalMs", 50, 1999),
        s.number("workerExpiryMs", 100, 600_000),
        s.integer("instances", 0, 256));
  }
}
