package io.webrocket.config;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The server's command line. The 2012 server's flags keep working ({@code -websocket-addr
 * HOST:PORT}, {@code -backend-addr}, {@code -admin-addr}, {@code -node-name}, {@code
 * -storage-dir}, {@code -cert}, {@code -key}), with one or two dashes and {@code =} or a space,
 * plus {@code -config FILE}.
 */
public final class CommandLine {
  public static final String USAGE = String.join("\n",
      "Usage: java -jar webrocket.jar [flags]            run a node",
      "       java -jar webrocket.jar admin COMMAND ...  manage a running node (admin help)",
      "",
      "Flags (one or two dashes, '=' or a space before the value):",
      "  -config FILE            configuration file (default conf/webrocket.json if present)",
      "  -websocket-addr H:P     WebSocket endpoint address (default 0.0.0.0:8080)",
      "  -backend-addr H:P       backend (WBP) endpoint address (default 0.0.0.0:8081)",
      "  -admin-addr H:P         admin (WARI) endpoint address (default 127.0.0.1:8082)",
      "  -node-name NAME         node name; the admin cookie is STORAGE_DIR/NAME.cookie",
      "  -storage-dir DIR        data directory (default ./data)",
      "  -cert FILE -key FILE    PEM certificate and key: TLS on all endpoints",
      "  -cluster                join a cluster (Hazelcast; see docs/clustering.md)",
      "  -cluster-host HOST      interface the cluster listens on (default 127.0.0.1; 'auto' in containers)",
      "  -cluster-port PORT      Hazelcast member port (default 5701)",
      "  -cluster-members LIST   TCP-IP join list: HOST:PORT,HOST:PORT,... (default 127.0.0.1:5701-5703)",
      "  -print-secrets          print the admin cookie and new vhost tokens even when stdout is not a terminal",
      "  -help                   this text");

  /** What the command line asked for. */
  public record Parsed(String configFile, JsonObject flags, boolean help, boolean printSecrets) {}

  private CommandLine() {}

  /** Flags and plain arguments, split the 2012 way: one or two dashes, {@code =} or a space. */
  public record Split(java.util.Map<String, String> flags, List<String> positional) {}

  /**
   * Splits {@code args}; {@code switches} name flags that take no value (they map to "true").
   * Flags keep their order; a flag given twice keeps its last value.
   */
  public static Split split(String[] args, java.util.Set<String> switches) {
    java.util.Map<String, String> flags = new java.util.LinkedHashMap<>();
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("-")) {
        positional.add(arg);
        continue;
      }
      String name = arg.replaceFirst("^--?", "");
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (switches.contains(name)) {
        flags.put(name, "true");
        continue;
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("flag -" + name + " needs a value");
        }
        value = args[++i];
      }
      flags.put(name, value);
    }
    return new Split(flags, positional);
  }

  public static Parsed parse(String[] args) {
    JsonObject flags = new JsonObject();
    String config = null;
    boolean help = false;
    boolean printSecrets = false;
    Split split = split(args, java.util.Set.of("help", "h", "cluster", "print-secrets"));
    if (!split.positional().isEmpty()) {
      throw new IllegalArgumentException("unexpected argument: " + split.positional().get(0));
    }
    for (var flag : split.flags().entrySet()) {
      String name = flag.getKey();
      String value = flag.getValue();
      if (name.equals("help") || name.equals("h")) {
        help = true;
        continue;
      }
      if (name.equals("print-secrets")) {
        printSecrets = true;
        continue;
      }
      switch (name) {
        case "config" -> config = value;
        case "websocket-addr" -> address(flags, "websocket", value);
        case "backend-addr" -> address(flags, "backend", value);
        case "admin-addr" -> address(flags, "admin", value);
        case "node-name" -> flags.put("node", new JsonObject().put("name", value));
        case "storage-dir" -> flags.put("storageDir", value);
        case "cert" -> section(flags, "tls").put("cert", value);
        case "key" -> section(flags, "tls").put("key", value);
        case "cluster" -> section(flags, "cluster").put("enabled", true);
        case "cluster-host" -> section(flags, "cluster").put("host", value);
        case "cluster-port" -> section(flags, "cluster").put("port", port(name, value));
        case "cluster-members" -> section(flags, "cluster").put("members", members(value));
        default -> throw new IllegalArgumentException("unknown flag: -" + name);
      }
    }
    return new Parsed(config, flags, help, printSecrets);
  }

  private static int port(String flag, String value) {
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("flag -" + flag + " needs a port number, got " + value);
    }
  }

  private static io.vertx.core.json.JsonArray members(String value) {
    io.vertx.core.json.JsonArray list = new io.vertx.core.json.JsonArray();
    for (String m : value.split(",")) {
      if (!m.isBlank()) {
        list.add(m.trim());
      }
    }
    return list;
  }

  private static JsonObject section(JsonObject flags, String key) {
    if (!flags.containsKey(key)) {
      flags.put(key, new JsonObject());
    }
    return flags.getJsonObject(key);
  }

  /** {@code HOST:PORT}, {@code :PORT} (all interfaces) or {@code [v6]:PORT}. */
  static void address(JsonObject flags, String section, String value) {
    int colon = value.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("-" + section + "-addr: expected HOST:PORT, got " + value);
    }
    String host = value.substring(0, colon).replaceAll("^\\[|\\]$", "");
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-" + section + "-addr: bad port in " + value);
    }
    section(flags, section).put("host", host.isEmpty() ? "0.0.0.0" : host).put("port", port);
  }
}
