package io.webrocket.config;

/**
 * The {@code admin} section: the WARI endpoint. Nothing here applies live.
 *
 * @param cookie a fixed admin cookie (40 lowercase hex), or null for one generated per node
 */
public record AdminSettings(String host, int port, boolean metricsNeedCookie, String cookie) {

  /** {@code host} must have been filled in from the top-level {@code host} already. */
  static AdminSettings parse(Section s) {
    String host = s.string("host");
    int port = s.integer("port", 0, 65535);
    Object cookie = s.value("cookie");
    if (cookie != null && !(cookie instanceof String c && c.matches("[0-9a-f]{40}"))) {
      throw new Settings.InvalidException("admin.cookie", "must be 40 lowercase hex characters (or null for a generated cookie)");
    }
    return new AdminSettings(host, port, s.bool("metricsNeedCookie"), (String) cookie);
  }

  /** Never the cookie: it is a secret. */
  @Override
  public String toString() {
    return "AdminSettings[host=" + host + ", port=" + port + ", metricsNeedCookie=" + metricsNeedCookie
        + ", cookie=" + (cookie == null ? "generated" : "set") + "]";
  }
}
