package io.webrocket.config;

import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/**
 * The node's configuration: defaults, overrides from the environment and system properties,
 * validation, and the typed value the verticles apply.
 *
 * <p>{@link #parse} is the one parser: it checks the merged JSON and builds one immutable record
 * per section ({@link WebSocketSettings}, {@link BackendSettings}, {@link LimitsSettings}…).
 * The JSON form, normalized by the same pass, is what travels (deployment config, the reload
 * message on {@code Addresses.config()}); whoever receives it parses it once into a
 * {@code Settings} and applies that, never reading a key on a hot path.
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

  private final String nodeName;
  private final String host;
  private final String storageDir;
  private final String transport;
  private final WebSocketSettings websocket;
  private final BackendSettings backend;
  private final AdminSettings admin;
  private final TlsSettings tls;
  private final LimitsSettings limits;
  private final long tokenLifetimeMs;
  private final StoreSettings store;
  private final ClusterSettings cluster;
  private final LogSettings log;
  private final long shutdownTimeoutMs;
  private final long reloadScanPeriodMs;
  private final Map<String, VhostSettings> vhosts;
  /** Which channels keep a history (per vhost) and the node's bounds on it. */
  private final io.webrocket.history.HistorySettings history;
  private final PresenceSettings presence;
  private final JsonObject json;

  private Settings(Section root) {
    if (!(root.value("node") instanceof JsonObject)) {
      throw new InvalidException("node.name", "must be 1-64 letters, digits, '_' or '-'");
    }
    nodeName = root.section("node").name("name");
    host = root.string("host");
    storageDir = root.string("storageDir");
    transport = transport(root.value("transport"));
    Section ws = root.section("websocket");
    Section be = root.section("backend");
    Section ad = root.section("admin");
    for (Section endpoint : List.of(ws, be, ad)) {
      if (endpoint.value("host") == null) {
        endpoint.json().put("host", host);
      }
    }
    websocket = WebSocketSettings.parse(ws);
    backend = BackendSettings.parse(be);
    admin = AdminSettings.parse(ad);
    tokenLifetimeMs = tokenLifetimeMs(root);
    store = StoreSettings.parse(root.section("store"));
    cluster = ClusterSettings.parse(root.section("cluster"));
    limits = LimitsSettings.parse(root.section("limits"));
    shutdownTimeoutMs = root.section("shutdown").number("timeoutMs", 0, 600_000);
    reloadScanPeriodMs = root.section("reload").number("scanPeriodMs", 0, 3_600_000);
    log = LogSettings.parse(root.section("log"));
    tls = TlsSettings.parse(root.section("tls"));
    vhosts = VhostSettings.parseAll(root.section("vhosts"));
    history = io.webrocket.history.HistorySettings.parse(root.json());
    presence = PresenceSettings.parse(root.section("presence"));
    json = root.json();
  }

  /**
   * Checks a merged configuration (defaults, file, overrides) and builds its typed form. {@code c}
   * is normalized in place (an endpoint without a host gets the top-level one, blank file names
   * and an empty secret become null, a vhost declared as null an empty object), so that the JSON
   * and the records say the same.
   *
   * @throws InvalidException naming the first key that cannot be used
   */
  public static Settings parse(JsonObject c) {
    return new Settings(Section.root(c));
  }

  /**
   * Merges {@code file} (may be empty) over the defaults, then environment and system-property
   * overrides, then {@code flags} (the command line), and parses the result.
   */
  public static Settings load(JsonObject file, Map<String, String> env, Map<String, String> props, JsonObject flags) {
    JsonObject defaults = defaults();
    JsonObject c = defaults.copy().mergeIn(file == null ? new JsonObject() : file, true);
    overrides(c, defaults, "", env, props);
    c.mergeIn(flags == null ? new JsonObject() : flags, true);
    return parse(c);
  }

  /** {@link #load}, as the normalized JSON. */
  public static JsonObject resolve(JsonObject file, Map<String, String> env, Map<String, String> props, JsonObject flags) {
    return load(file, env, props, flags).json;
  }

  /** {@code tokens.lifetimeMs}: how long a single access token lives. */
  static long tokenLifetimeMs(Section root) {
    return root.section("tokens").number("lifetimeMs", 1000, 30L * 86_400_000);
  }

  private static String transport(Object transport) {
    if (!List.of("auto", "nio", "epoll").contains(transport)) {
      throw new InvalidException("transport", "must be auto, nio or epoll, got " + transport);
    }
    return (String) transport;
  }

  /** {@code node.name}: the cookie file is {@code STORAGE_DIR/NAME.cookie}. */
  public String nodeName() {
    return nodeName;
  }

  /** The address every endpoint binds to unless its section says otherwise. */
  public String host() {
    return host;
  }

  public String storageDir() {
    return storageDir;
  }

  /** {@code auto}, {@code nio} or {@code epoll}. */
  public String transport() {
    return transport;
  }

  public WebSocketSettings websocket() {
    return websocket;
  }

  public BackendSettings backend() {
    return backend;
  }

  public AdminSettings admin() {
    return admin;
  }

  public TlsSettings tls() {
    return tls;
  }

  public LimitsSettings limits() {
    return limits;
  }

  /** {@code tokens.lifetimeMs}. */
  public long tokenLifetimeMs() {
    return tokenLifetimeMs;
  }

  /** What a vhost registry applies: the token lifetime and the channel limit. */
  public RegistrySettings registry() {
    return new RegistrySettings(tokenLifetimeMs, limits.channelsPerVhost());
  }

  public StoreSettings store() {
    return store;
  }

  public ClusterSettings cluster() {
    return cluster;
  }

  public LogSettings log() {
    return log;
  }

  /** {@code shutdown.timeoutMs}: bound on a graceful stop. */
  public long shutdownTimeoutMs() {
    return shutdownTimeoutMs;
  }

  /** {@code reload.scanPeriodMs}: 0 never checks the file. */
  public long reloadScanPeriodMs() {
    return reloadScanPeriodMs;
  }

  /** Declared vhosts by path, in the order written. */
  public io.webrocket.history.HistorySettings history() {
    return history;
  }

  /** {@code presence}: how announcements are put back in each channel's order. */
  public PresenceSettings presence() {
    return presence;
  }

  public Map<String, VhostSettings> vhosts() {
    return vhosts;
  }

  /** The normalized JSON these settings were parsed from (a copy: this value stays as it is). */
  public JsonObject json() {
    return json.copy();
  }

  /** The same settings with the WebSocket endpoint on {@code port} (the one chosen for port 0). */
  public Settings withWebSocketPort(int port) {
    JsonObject changed = json.copy();
    changed.getJsonObject("websocket").put("port", port);
    return parse(changed);
  }

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
        .put("presence", PresenceSettings.defaults())
        .put("vhosts", new JsonObject());
  }

  /**
   * The machine's short host name, looked up once per process: the lookup may block on DNS, and
   * {@link #defaults} also runs on an event loop when the file is reloaded.
   */
  private static final class HostName {
    static final String SHORT = lookup();

    private static String lookup() {
      try {
        String h = InetAddress.getLocalHost().getHostName();
        int dot = h.indexOf('.');
        return (dot > 0 ? h.substring(0, dot) : h).replaceAll("[^\\w\\-]", "-");
      } catch (Exception e) {
        return "webrocket";
      }
    }
  }

  private static String defaultNodeName() {
    return HostName.SHORT;
  }

  /** Applies {@code WEBROCKET_A_B} / {@code webrocket.a.b} to every scalar key {@code a.b} the defaults know. */
  private static void overrides(JsonObject c, JsonObject defaults, String prefix, Map<String, String> env,
      Map<String, String> props) {
    for (String key : (defaults != null ? defaults : c).fieldNames()) {
      Object v = c.getValue(key);
      String path = prefix.isEmpty() ? key : prefix + "." + key;
      if (v instanceof JsonObject o) {
        if (!"vhosts".equals(path)) {
          overrides(o, null, path, env, props);
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
}
