package io.webrocket.config;

import io.vertx.core.json.JsonArray;
import java.util.List;

/**
 * The {@code cluster} section (docs/clustering.md, docs/security.md). Nothing here applies live.
 *
 * @param host "auto" (a blank or missing host is written back as "auto"), a host name, an
 *     address or a pattern like {@code 10.0.5.*} (see {@code Clustering.resolveHost})
 * @param join {@code tcp} or {@code multicast}
 * @param members {@code host:port} or {@code host} entries for the TCP-IP join
 * @param secret 16+ characters that keep nodes without it out, or null ({@code ""} is none)
 * @param tlsCert event-bus TLS certificate ({@code cluster.tls.cert}), or null: {@code tls.cert}'s
 * @param tlsKey with {@code tlsCert}
 * @param tlsCa the CA that signs the nodes' certificates, or null: trust the certificate itself
 */
public record ClusterSettings(
    boolean enabled,
    String name,
    String host,
    int port,
    int busPort,
    String join,
    List<String> members,
    int minMembers,
    long failureDetectionMs,
    String secret,
    String tlsCert,
    String tlsKey,
    String tlsCa) {

  public ClusterSettings {
    members = List.copyOf(members);
  }

  static ClusterSettings parse(Section s) {
    boolean enabled = s.bool("enabled");
    String name = s.name("name");
    Object host = s.value("host");
    if (host == null || (host instanceof String h && (h.isBlank() || h.equals("auto")))) {
      s.json().put("host", "auto");
    } else if (!(host instanceof String h) || (h.contains("*") && !h.matches("(\\d{1,3}|\\*)(\\.(\\d{1,3}|\\*)){3}"))) {
      throw new Settings.InvalidException("cluster.host", "must be a host name, an address, a pattern like 10.0.5.* or \"auto\"");
    }
    int port = s.integer("port", 1, 65535);
    int busPort = s.integer("busPort", 0, 65535);
    Object join = s.value("join");
    if (!"tcp".equals(join) && !"multicast".equals(join)) {
      throw new Settings.InvalidException("cluster.join", "must be tcp or multicast, got " + join);
    }
    if (!(s.value("members") instanceof JsonArray members)) {
      throw new Settings.InvalidException("cluster.members", "must be a list of host:port");
    }
    for (Object m : members) {
      if (!(m instanceof String text) || !text.matches("[\\w.\\-]+(:\\d{1,5})?")) {
        throw new Settings.InvalidException("cluster.members", "must be a list of host or host:port, got " + m);
      }
    }
    if ("tcp".equals(join) && members.isEmpty()) {
      throw new Settings.InvalidException("cluster.members", "tcp join needs at least one member");
    }
    int minMembers = s.integer("minMembers", 1, 1000);
    long failureDetectionMs = s.number("failureDetectionMs", 1000, 600_000);
    // Never part of a message: the value is a secret.
    Object secret = s.value("secret");
    if (secret instanceof String text && text.isEmpty()) {
      s.json().putNull("secret");
      secret = null;
    } else if (secret != null && !(secret instanceof String text && text.length() >= 16 && text.length() <= 1024)) {
      throw new Settings.InvalidException("cluster.secret", "must be a string of 16 to 1024 characters (e.g. openssl rand -hex 32)");
    }
    Section tls = s.section("tls");
    String cert = tls.file("cert", true);
    String key = tls.file("key", true);
    String ca = tls.file("ca", true);
    if ((cert == null) != (key == null)) {
      throw new Settings.InvalidException("cluster.tls", "cert and key go together");
    }
    if (ca != null && cert == null) {
      throw new Settings.InvalidException("cluster.tls.ca", "needs cluster.tls.cert and cluster.tls.key");
    }
    return new ClusterSettings(enabled, name, (String) s.value("host"), port, busPort, (String) join,
        Section.strings(members), minMembers, failureDetectionMs, (String) secret, cert, key, ca);
  }

  /** Never the secret. */
  @Override
  public String toString() {
    return "ClusterSettings[enabled=" + enabled + ", name=" + name + ", host=" + host + ", port=" + port
        + ", busPort=" + busPort + ", join=" + join + ", members=" + members + ", minMembers=" + minMembers
        + ", failureDetectionMs=" + failureDetectionMs + ", secret=" + (secret == null ? "none" : "set")
        + ", tlsCert=" + tlsCert + ", tlsKey=" + tlsKey + ", tlsCa=" + tlsCa + "]";
  }
}
