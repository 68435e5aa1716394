package io.webrocket.config;

import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.util.Map;

/**
 * The node's configuration: defaults, overrides from the environment and system properties,
 * and validation. The result is one normalized JSON object whose sections are handed to the
 * verticles as their deployment config.
 *
 * <p>Overrides name a key by its dotted path: {@code WEBROCKET_WEBSOCKET_PORT=9000} or
 * {@code -Dwebrocket.websocket.port=9000}; the value is converted to the type of the default.
 */
public final class Settings {
  /** A configuration value that cannot be used; the message names the key. */
  public static final class InvalidException extends RuntimeException {
    public InvalidException(String key, String why) {
      super(key + ": " + why);
    }
  }

  private Settings() {}

  public static JsonObject defaults() {
    return new JsonObject()
        .put("node", new JsonObject().put("name", defaultNodeName()))
        .put("host", "0.0.0.0")
        .put("storageDir", "./data")
        .put("transport", "auto")
        .put("websocket", new JsonObject()
            .putNull("host")
            .put("allowedOrigins", new io.vertx.core.json.JsonArray())
            .put("port", 8080)
            .put("maxFrameSize", 65536)
            .put("pingIntervalMs", 25_000L)
            .put("triggerTimeoutMs", 5_000L)
            .put("outboundQueueBytes", 262_144)
            .put("slowConsumerTimeoutMs", 10_000L)
            .put("handshakeTimeoutMs", 10_000L)
            .put("messageTimeoutMs", 10_000L)
            .put("instances", 0))
        .put("backend", new JsonObject()
            .putNull("host")
            .put("port", 8081)
            .put("maxMessageSize", 65536)
            .put("maxPipelined", 1024)
            .put("outboundQueueBytes", 262_144)
            .put("messageTimeoutMs", 10_000L)
            .put("maxIdentityLength", 256)
            .put("idleTimeoutMs", 300_000L)
            .put("heartbeatIntervalMs", 500L)
            .put("workerExpiryMs", 3_000L)
            .put("instances", 0))
        .put("admin", new JsonObject().put("host", "127.0.0.1").put("port", 8082).put("metricsNeedCookie", false)
            .putNull("cookie"))
        .put("cluster", new JsonObject()
            .put("enabled", false)
            .put("name", "webrocket")
            .put("host", "127.0.0.1")
            .put("port", 5701)
            .put("busPort", 0)
            .put("join", "tcp")
            .put("members", new io.vertx.core.json.JsonArray().add("127.0.0.1:5701").add("127.0.0.1:5702").add("127.0.0.1:5703"))
            .put("minMembers", 1)
            .put("failureDetectionMs", 5_000L)
            .putNull("secret")
            .put("tls", new JsonObject().putNull("cert").putNull("key").putNull("ca")))
        .put("shutdown", new JsonObject().put("timeoutMs", 10_000L))
        .put("reload", new JsonObject().put("scanPeriodMs", 2_000L))
        .put("log", new JsonObject().put("level", "INFO").put("format", "text").put("access", true).put("maxFieldLength", 256))
        .put("tls", new JsonObject().putNull("cert").putNull("key").putNull("clientCa")
            .put("protocols", new io.vertx.core.json.JsonArray().add("TLSv1.2").add("TLSv1.3"))
            .put("ciphers", new io.vertx.core.json.JsonArray()))
        .put("tokens", new JsonObject().put("lifetimeMs", 300_000L))
        .put("limits", new JsonObject()
            .put("messagesPerSecond", 100)
            .put("messagesBurst", 200)
            .put("subscriptionsPerConnection", 256)
            .put("connectionsPerNode", 100_000)
            .put("connectionsPerVhost", 100_000)
            .put("handshakesInFlight", 1_000)
            .put("channelsPerVhost", 10_000)
            .put("backendRequestsPerSecond", 200_000)
            .put("backendRequestsBurst", 20_000)
            .put("controlFramesPerSecond", 10)
            .put("controlFramesBurst", 50)
            .put("presenceDataBytes", 1024)
            .put("permissionMatchSteps", 100_000)
            .put("backendConnectionsPerNode", 10_000)
            .put("backendConnectionsUnidentified", 1_000))
        .put("store", new JsonObject()
            .put("type", "sqlite")
            .put("fsync", false)
            .put("postgres", new JsonObject()
                .put("host", "localhost")
                .put("port", 5432)
                .put("database", "webrocket")
                .put("user", "webrocket")
                .putNull("password")
                .put("poolSize", 4)))
        .put("history", io.webrocket.history.HistorySettings.defaults())
        .put("vhosts", new JsonObject());
  }

  private static String defaultNodeName() {
    try {
      String h = InetAddress.getLocalHost().getHostName();
      int dot = h.indexOf('.');
      return (dot > 0 ? h.substring(0, dot) : h).replaceAll("[^\\w\\-]", "-");
    } catch (Exception e) {
      return "webrocket";
    }
  }

  /**
   * Merges {@code file} (may be empty) over the defaults, then environment and system-property
   * overrides, then {@code flags} (the command line), and validates the result.
   */
  public static JsonObject resolve(JsonObject file, Map<String, String> env, Map<String, String> props, JsonObject flags) {
    JsonObject c = defaults().mergeIn(file == null ? new JsonObject() : file, true);
    overrides(c, "", env, props);
    c.mergeIn(flags == null ? new JsonObject() : flags, true);
    return validate(c);
  }

  /** Applies {@code WEBROCKET_A_B} / {@code webrocket.a.b} to every scalar key {@code a.b} the defaults know. */
  private static void overrides(JsonObject c, String prefix, Map<String, String> env, Map<String, String> props) {
    JsonObject d = prefix.isEmpty() ? defaults() : null;
    for (String key : (d != null ? d : c).fieldNames()) {
      Object v = c.getValue(key);
      String path = prefix.isEmpty() ? key : prefix + "." + key;
      if (v instanceof JsonObject o) {
        if (!"vhosts".equals(path)) {
          overrides(o, path, env, props);
        }
        continue;
      }
      String envName = "WEBROCKET_" + path.toUpperCase().replace('.', '_');
      String given = props.getOrDefault("webrocket." + path, env.get(envName));
      if (given != null) {
        c.put(key, convert(path, given, v));
      }
    }
  }

  private static Object convert(String key, String text, Object like) {
    try {
      if (like instanceof Integer) {
        return Integer.parseInt(text.trim());
      }
      if (like instanceof Long) {
        return Long.parseLong(text.trim());
      }
      if (like instanceof Boolean) {
        return Boolean.parseBoolean(text.trim());
      }
      if (like instanceof io.vertx.core.json.JsonArray) {
        io.vertx.core.json.JsonArray list = new io.vertx.core.json.JsonArray();
        for (String item : text.split(",")) {
          if (!item.isBlank()) {
            list.add(item.trim());
          }
        }
        return list;
      }
      return text;
    } catch (NumberFormatException e) {
      throw new InvalidException(key, "not a number: " + text);
    }
  }

  static JsonObject validate(JsonObject c) {
    name(c.getValue("node") instanceof JsonObject n ? n.getValue("name") : null, "node.name");
    string(c, "host", "host");
    string(c, "storageDir", "storageDir");
    Object transport = c.getValue("transport");
    if (!java.util.List.of("auto", "nio", "epoll").contains(transport)) {
      throw new InvalidException("transport", "must be auto, nio or epoll, got " + transport);
    }
    JsonObject ws = section(c, "websocket");
    JsonObject be = section(c, "backend");
    JsonObject ad = section(c, "admin");
    for (JsonObject s : new JsonObject[] {ws, be, ad}) {
      if (s.getValue("host") == null) {
        s.put("host", c.getString("host"));
      }
    }
    port(ws, "websocket");
    port(be, "backend");
    port(ad, "admin");
    range(ws, "websocket", "maxFrameSize", 1024, 16 * 1024 * 1024);
    range(ws, "websocket", "pingIntervalMs", 100, 3_600_000);
    range(ws, "websocket", "triggerTimeoutMs", 10, 600_000);
    range(ws, "websocket", "outboundQueueBytes", 4096, 64 * 1024 * 1024);
    range(ws, "websocket", "slowConsumerTimeoutMs", 10, 3_600_000);
    range(ws, "websocket", "handshakeTimeoutMs", 100, 600_000);
    range(ws, "websocket", "messageTimeoutMs", 100, 600_000);
    range(ws, "websocket", "instances", 0, 256);
    origins(ws.getValue("allowedOrigins"), "websocket.allowedOrigins");
    range(be, "backend", "maxMessageSize", 16 * 1024, 64 * 1024 * 1024);
    range(be, "backend", "maxPipelined", 1, 1_000_000);
    range(be, "backend", "outboundQueueBytes", 4096, 64 * 1024 * 1024);
    range(be, "backend", "messageTimeoutMs", 100, 3_600_000);
    range(be, "backend", "maxIdentityLength", 64, 65_536);
    range(be, "backend", "idleTimeoutMs", 1000, 86_400_000);
    range(be, "backend", "heartbeatIntervalMs", 50, 1999);
    range(be, "backend", "workerExpiryMs", 100, 600_000);
    range(be, "backend", "instances", 0, 256);
    range(section(c, "tokens"), "tokens", "lifetimeMs", 1000, 30L * 86_400_000);
    store(section(c, "store"));
    cluster(section(c, "cluster"));
    Object cookie = ad.getValue("cookie");
    if (cookie != null && !(cookie instanceof String cs && cs.matches("[0-9a-f]{40}"))) {
      throw new InvalidException("admin.cookie", "must be 40 lowercase hex characters (or null for a generated cookie)");
    }
    JsonObject limits = section(c, "limits");
    for (String k : limits.fieldNames()) {
      range(limits, "limits", k, 1, 100_000_000);
    }
    range(section(c, "shutdown"), "shutdown", "timeoutMs", 0, 600_000);
    range(section(c, "reload"), "reload", "scanPeriodMs", 0, 3_600_000);
    JsonObject log = section(c, "log");
    if (!java.util.Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF").contains(String.valueOf(log.getValue("level")).toUpperCase())) {
      throw new InvalidException("log.level", "must be one of TRACE, DEBUG, INFO, WARN, ERROR, OFF, got " + log.getValue("level"));
    }
    if (!java.util.Set.of("text", "json").contains(String.valueOf(log.getValue("format")))) {
      throw new InvalidException("log.format", "must be text or json, got " + log.getValue("format"));
    }
    range(log, "log", "maxFieldLength", 16, 1_000_000);
    JsonObject tls = section(c, "tls");
    if ((tls.getValue("cert") == null) != (tls.getValue("key") == null)) {
      throw new InvalidException("tls", "cert and key go together");
    }
    Tls.validate(tls);
    JsonObject vhosts = section(c, "vhosts");
    for (String path : vhosts.fieldNames()) {
      if (!io.webrocket.protocol.Names.isValidVhost(path) || io.webrocket.protocol.Names.isReservedAdminPath(path)) {
        throw new InvalidException("vhosts." + path, "invalid vhost path");
      }
      Object spec = vhosts.getValue(path);
      if (spec == null) {
        vhosts.put(path, new JsonObject());
        continue;
      }
      if (!(spec instanceof JsonObject s)) {
        throw new InvalidException("vhosts." + path, "must be an object");
      }
      if (s.containsKey("origins")) {
        origins(s.getValue("origins"), "vhosts." + path + ".origins");
      }
      Object chans = s.getValue("channels");
      if (chans != null) {
        if (!(chans instanceof io.vertx.core.json.JsonArray a)) {
          throw new InvalidException("vhosts." + path + ".channels", "must be a list of channel names");
        }
        for (Object ch : a) {
          if (!(ch instanceof String n) || !io.webrocket.protocol.Names.isValidChannel(n)) {
            throw new InvalidException("vhosts." + path + ".channels", "invalid channel name: " + ch);
          }
        }
      }
    }
    io.webrocket.history.HistorySettings.parse(c); // checks the history section and rules
    return c;
  }

  /** An Origin allow-list: a list of origins as browsers send them, e.g. {@code https://example.com}. */
  private static void origins(Object v, String path) {
    if (!(v instanceof io.vertx.core.json.JsonArray list)) {
      throw new InvalidException(path, "must be a list of origins, got " + v);
    }
    for (Object o : list) {
      if (!(o instanceof String origin) || origin.isBlank()) {
        throw new InvalidException(path, "must be a list of origins, got " + o);
      }
    }
  }

  /** The embedded SQLite store (default) or PostgreSQL; messages never show the password. */
  private static void store(JsonObject store) {
    Object type = store.getValue("type");
    if (!"sqlite".equals(type) && !"postgres".equals(type)) {
      throw new InvalidException("store.type", "must be sqlite or postgres, got " + type);
    }
    if (!(store.getValue("fsync") instanceof Boolean)) {
      throw new InvalidException("store.fsync", "must be true or false, got " + store.getValue("fsync"));
    }
    if (!(store.getValue("postgres") instanceof JsonObject pg)) {
      throw new InvalidException("store.postgres", "must be an object");
    }
    string(pg, "host", "store.postgres.host");
    range(pg, "store.postgres", "port", 1, 65535);
    string(pg, "database", "store.postgres.database");
    string(pg, "user", "store.postgres.user");
    Object password = pg.getValue("password");
    if (password != null && !(password instanceof String)) {
      throw new InvalidException("store.postgres.password", "must be a string");
    }
    range(pg, "store.postgres", "poolSize", 1, 100);
  }

  /**
   * Clustering: {@code host} "auto" (or blank) picks the machine's first non-loopback address, a
   * pattern like {@code 10.0.5.*} the address it matches (see {@code Clustering.resolveHost});
   * members are {@code host:port} or {@code host} entries. {@code secret} (16+ characters) keeps
   * nodes without it out; {@code tls} secures the event bus (docs/security.md).
   */
  private static void cluster(JsonObject cl) {
    if (!(cl.getValue("enabled") instanceof Boolean)) {
      throw new InvalidException("cluster.enabled", "must be true or false, got " + cl.getValue("enabled"));
    }
    name(cl.getValue("name"), "cluster.name");
    Object host = cl.getValue("host");
    if (host == null || (host instanceof String h && (h.isBlank() || h.equals("auto")))) {
      cl.put("host", "auto");
    } else if (!(host instanceof String h) || (h.contains("*") && !h.matches("(\\d{1,3}|\\*)(\\.(\\d{1,3}|\\*)){3}"))) {
      throw new InvalidException("cluster.host", "must be a host name, an address, a pattern like 10.0.5.* or \"auto\"");
    }
    range(cl, "cluster", "port", 1, 65535);
    range(cl, "cluster", "busPort", 0, 65535);
    if (!"tcp".equals(cl.getValue("join")) && !"multicast".equals(cl.getValue("join"))) {
      throw new InvalidException("cluster.join", "must be tcp or multicast, got " + cl.getValue("join"));
    }
    if (!(cl.getValue("members") instanceof io.vertx.core.json.JsonArray members)) {
      throw new InvalidException("cluster.members", "must be a list of host:port");
    }
    for (Object m : members) {
      if (!(m instanceof String s) || !s.matches("[\\w.\\-]+(:\\d{1,5})?")) {
        throw new InvalidException("cluster.members", "must be a list of host or host:port, got " + m);
      }
    }
    if ("tcp".equals(cl.getValue("join")) && members.isEmpty()) {
      throw new InvalidException("cluster.members", "tcp join needs at least one member");
    }
    range(cl, "cluster", "minMembers", 1, 1000);
    range(cl, "cluster", "failureDetectionMs", 1000, 600_000);
    // Never part of a message: the value is a secret.
    Object secret = cl.getValue("secret");
    if (secret instanceof String s && s.isEmpty()) {
      cl.putNull("secret");
    } else if (secret != null && !(secret instanceof String s && s.length() >= 16 && s.length() <= 1024)) {
      throw new InvalidException("cluster.secret", "must be a string of 16 to 1024 characters (e.g. openssl rand -hex 32)");
    }
    if (!(cl.getValue("tls") instanceof JsonObject tls)) {
      throw new InvalidException("cluster.tls", "must be an object");
    }
    for (String k : new String[] {"cert", "key", "ca"}) {
      Object v = tls.getValue(k);
      if (v instanceof String s && s.isBlank()) {
        tls.putNull(k);
      } else if (v != null && !(v instanceof String)) {
        throw new InvalidException("cluster.tls." + k, "must be a file name");
      }
    }
    if ((tls.getValue("cert") == null) != (tls.getValue("key") == null)) {
      throw new InvalidException("cluster.tls", "cert and key go together");
    }
    if (tls.getValue("ca") != null && tls.getValue("cert") == null) {
      throw new InvalidException("cluster.tls.ca", "needs cluster.tls.cert and cluster.tls.key");
    }
  }

  private static JsonObject section(JsonObject c, String key) {
    Object v = c.getValue(key);
    if (!(v instanceof JsonObject o)) {
      throw new InvalidException(key, "must be an object");
    }
    return o;
  }

  private static void string(JsonObject c, String key, String path) {
    if (!(c.getValue(key) instanceof String s) || s.isBlank()) {
      throw new InvalidException(path, "must be a non-empty string");
    }
  }

  private static void name(Object v, String path) {
    if (!(v instanceof String s) || !s.matches("[\\w\\-]{1,64}")) {
      throw new InvalidException(path, "must be 1-64 letters, digits, '_' or '-'");
    }
  }

  private static void port(JsonObject s, String section) {
    string(s, "host", section + ".host");
    range(s, section, "port", 0, 65535);
  }

  private static void range(JsonObject s, String section, String key, long min, long max) {
    Object v = s.getValue(key);
    if (!(v instanceof Number n) || n.doubleValue() != n.longValue() || n.longValue() < min || n.longValue() > max) {
      throw new InvalidException(section + "." + key, "must be an integer from " + min + " to " + max + ", got " + v);
    }
  }
}
