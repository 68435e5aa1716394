package io.webrocket.admin;

import io.vertx.core.json.JsonObject;
import io.webrocket.config.CommandLine;
import io.webrocket.config.ConfigFile;
import io.webrocket.config.Settings;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The admin command-line tool, with the 2012 tool's commands and output. It finds the node's
 * admin address and cookie from the configuration and data directory, or takes
 * {@code --admin-addr HOST:PORT} and {@code --cookie COOKIE}.
 */
public final class AdminCli {
  private static final String USAGE = String.join("\n",
      "Usage: java -jar webrocket.jar admin [options] command [args ...]",
      "",
      "Commands:",
      "  list_vhosts                         list vhost paths",
      "  add_vhost PATH                      create a vhost; prints path and token",
      "  show_vhost PATH                     prints path and token",
      "  delete_vhost PATH                   delete a vhost",
      "  clear_vhosts                        delete every vhost",
      "  regenerate_vhost_token PATH         new access token; prints it",
      "  list_channels VHOST                 channels with subscriber counts",
      "  add_channel VHOST NAME              open a channel",
      "  delete_channel VHOST NAME           close a channel",
      "  clear_channels VHOST                close every channel of the vhost",
      "  list_workers VHOST                  connected worker ids",
      "  list_members                        cluster members: name, address, id; the leader marked (extension)",
      "  show_history VHOST NAME [AFTER [LIMIT]]  a channel's history settings, epoch, offsets and events (extension)",
      "  show_history_rules VHOST            the vhost's history rules in force and their source, admin or file (extension)",
      "  set_history_rules VHOST JSON        replace them, e.g. '{\"chat*\": {\"size\": 1000, \"lifetimeMs\": 300000}}' (extension)",
      "  clear_history_rules VHOST           remove the rules set with set_history_rules: the file's apply again (extension)",
      "",
      "Options (one or two dashes, '=' or a space):",
      "  -admin-addr HOST:PORT   the node's admin endpoint (default: from the configuration)",
      "  -cookie COOKIE          the node's cookie (default: read from STORAGE_DIR/NODE_NAME.cookie)",
      "  -storage-dir DIR        where to find the cookie file",
      "  -node-name NAME         whose cookie file to read",
      "  -config FILE            configuration to read defaults from",
      "  -https                  use https (when the node has TLS on)");

  /** A failure to report as {@code ERR: message}. */
  private static final class Failure extends Exception {
    Failure(String message) {
      super(message, null, false, false);
    }
  }

  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5))
      .followRedirects(HttpClient.Redirect.NEVER)
      .build();
  private final String base;
  private final String cookie;
  private final PrintStream out;

  private AdminCli(String base, String cookie, PrintStream out) {
    this.base = base;
    this.cookie = cookie;
    this.out = out;
  }

  /** Runs one command; returns the process exit status. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> positional;
    JsonObject opts = new JsonObject();
    try {
      CommandLine.Split split = CommandLine.split(args, java.util.Set.of("https", "help", "h"));
      positional = split.positional();
      split.flags().forEach(opts::put);
      if (opts.containsKey("help") || opts.containsKey("h") || positional.isEmpty()) {
        err.println(USAGE);
        return positional.isEmpty() && !opts.containsKey("help") ? 1 : 0;
      }
      AdminCli cli = connect(opts, out);
      cli.execute(positional);
      return 0;
    } catch (Failure | Settings.InvalidException | IllegalArgumentException e) {
      err.println("\033[31mERR: " + e.getMessage() + "\033[0m");
      return 1;
    }
  }

  private static AdminCli connect(JsonObject opts, PrintStream out) throws Failure {
    JsonObject flags = new JsonObject();
    if (opts.containsKey("storage-dir")) {
      flags.put("storageDir", opts.getString("storage-dir"));
    }
    if (opts.containsKey("node-name")) {
      flags.put("node", new JsonObject().put("name", opts.getString("node-name")));
    }
    Path file = ConfigFile.choose(opts.getString("config"));
    JsonObject fromFile = new JsonObject();
    if (file != null) {
      try {
        fromFile = new JsonObject(Files.readString(file));
      } catch (IOException | io.vertx.core.json.DecodeException e) {
        throw new Failure("cannot read " + file + ": " + e.getMessage());
      }
    }
    Settings config = Settings.load(fromFile, System.getenv(), Map.of(), flags);
    String addr = opts.getString("admin-addr");
    if (addr == null) {
      String host = config.admin().host();
      addr = (host.equals("0.0.0.0") ? "127.0.0.1" : host) + ":" + config.admin().port();
    } else if (addr.startsWith(":")) {
      addr = "127.0.0.1" + addr;
    }
    String cookie = opts.getString("cookie");
    if (cookie == null) {
      cookie = readCookie(Path.of(config.storageDir()), config.nodeName(),
          opts.containsKey("node-name"));
    }
    boolean tls = opts.containsKey("https") || config.tls().enabled();
    return new AdminCli((tls ? "https://" : "http://") + addr, cookie, out);
  }

  /** NODE_NAME.cookie in the data directory; if the name was not given and there is one cookie file, that one. */
  private static String readCookie(Path dir, String nodeName, boolean nameGiven) throws Failure {
    Path file = dir.resolve(nodeName + ".cookie");
    try {
      if (!Files.exists(file) && !nameGiven && Files.isDirectory(dir)) {
        try (var s = Files.list(dir)) {
          List<Path> cookies = s.filter(p -> p.getFileName().toString().endsWith(".cookie")).toList();
          if (cookies.size() == 1) {
            file = cookies.get(0);
          }
        }
      }
      return Files.readString(file).trim();
    } catch (IOException e) {
      throw new Failure("no cookie: cannot read " + file + " (give -cookie or -storage-dir)");
    }
  }

  private void execute(List<String> a) throws Failure {
    String cmd = a.get(0);
    switch (cmd) {
      case "list_vhosts" -> {
        need(a, 0);
        List<String> paths = new ArrayList<>();
        for (Object o : get("/").getJsonArray("vhosts")) {
          paths.add(((JsonObject) o).getString("path"));
        }
        Collections.sort(paths);
        paths.forEach(out::println);
      }
      case "add_vhost" -> {
        need(a, 1);
        printVhost(follow(send("POST", vhost(a.get(1)))));
      }
      case "show_vhost" -> {
        need(a, 1);
        printVhost(get(vhost(a.get(1))));
      }
      case "delete_vhost" -> {
        need(a, 1);
        send("DELETE", vhost(a.get(1)));
      }
      case "clear_vhosts" -> {
        need(a, 0);
        send("DELETE", "/");
      }
      case "regenerate_vhost_token" -> {
        need(a, 1);
        out.println(follow(send("PUT", vhost(a.get(1)) + "/token")).getJsonObject("vhost").getString("accessToken"));
      }
      case "list_channels" -> {
        need(a, 1);
        String v = vhost(a.get(1));
        List<String> names = new ArrayList<>();
        for (Object o : get(v + "/channels").getJsonArray("channels")) {
          names.add(((JsonObject) o).getString("name"));
        }
        Collections.sort(names);
        for (String n : names) {
          int size = get(v + "/channels/" + enc(n)).getJsonObject("channel").getJsonObject("subscribers").getInteger("size");
          out.println(n + "\t(" + size + " subscribers)");
        }
      }
      case "add_channel" -> {
        need(a, 2);
        send("POST", vhost(a.get(1)) + "/channels/" + enc(a.get(2)));
      }
      case "delete_channel" -> {
        need(a, 2);
        send("DELETE", vhost(a.get(1)) + "/channels/" + enc(a.get(2)));
      }
      case "clear_channels" -> {
        need(a, 1);
        send("DELETE", vhost(a.get(1)) + "/channels");
      }
      case "list_workers" -> {
        need(a, 1);
        List<String> ids = new ArrayList<>();
        for (Object o : get(vhost(a.get(1)) + "/workers").getJsonArray("workers")) {
          ids.add(((JsonObject) o).getString("id"));
        }
        Collections.sort(ids);
        ids.forEach(out::println);
      }
      case "list_members" -> {
        need(a, 0);
        for (Object o : get("/cluster").getJsonArray("members")) {
          JsonObject m = (JsonObject) o;
          out.println(m.getString("name") + "\t" + m.getString("address", "-") + "\t" + m.getString("id")
              + (m.getBoolean("leader", false) ? "\tleader" : ""));
        }
      }
      case "show_history" -> {
        if (a.size() < 3 || a.size() > 5) {
          throw new Failure("show_history takes VHOST NAME [AFTER [LIMIT]]");
        }
        String query = "?after=" + enc(a.size() > 3 ? a.get(3) : "0") + (a.size() > 4 ? "&limit=" + enc(a.get(4)) : "");
        JsonObject h = get(vhost(a.get(1)) + "/channels/" + enc(a.get(2)) + "/history" + query).getJsonObject("history");
        JsonObject settings = h.getJsonObject("settings");
        out.println("size " + settings.getInteger("size") + ", lifetime " + settings.getLong("lifetimeMs") + " ms");
        out.println("epoch " + h.getString("epoch") + ", offset " + h.getLong("offset") + ", oldest kept " + h.getLong("oldest"));
        for (Object e : h.getJsonArray("events")) {
          out.println(((JsonObject) e).encode());
        }
      }
      case "show_history_rules" -> {
        need(a, 1);
        printRules(get(vhost(a.get(1)) + "/history"));
      }
      case "set_history_rules" -> {
        need(a, 2);
        printRules(parse(call("PUT", vhost(a.get(1)) + "/history", a.get(2))));
      }
      case "clear_history_rules" -> {
        need(a, 1);
        send("DELETE", vhost(a.get(1)) + "/history");
      }
      default -> throw new Failure("unknown command: " + cmd + " (admin -help lists them)");
    }
  }

  /** {@code source admin|file}, then one line per pattern in the order they are tried. */
  private void printRules(JsonObject body) {
    JsonObject h = body.getJsonObject("history");
    out.println("source " + h.getString("source"));
    JsonObject rules = h.getJsonObject("rules");
    for (String pattern : rules.fieldNames()) {
      JsonObject r = rules.getJsonObject(pattern);
      out.println(pattern + "\tsize " + r.getInteger("size") + ", lifetime " + r.getLong("lifetimeMs") + " ms");
    }
  }

  private void printVhost(JsonObject body) {
    JsonObject v = body.getJsonObject("vhost");
    out.println(v.getString("path"));
    out.println(v.getString("accessToken"));
  }

  private static void need(List<String> a, int n) throws Failure {
    if (a.size() - 1 != n) {
      throw new Failure(a.get(0) + " takes " + n + " argument" + (n == 1 ? "" : "s"));
    }
  }

  /** The route segment for a vhost path given as {@code /demo} or {@code demo}. */
  private static String vhost(String path) throws Failure {
    String p = path.startsWith("/") ? path : "/" + path;
    if (!p.matches("^/[\\w\\-]+$")) {
      throw new Failure("invalid path");
    }
    return p;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private JsonObject get(String path) throws Failure {
    HttpResponse<String> r = call("GET", path);
    return parse(r);
  }

  private HttpResponse<String> send(String method, String path) throws Failure {
    HttpResponse<String> r = call(method, path);
    if (r.statusCode() >= 400) {
      parse(r);
    }
    return r;
  }

  private JsonObject follow(HttpResponse<String> r) throws Failure {
    String location = r.headers().firstValue("Location").orElseThrow(() -> new Failure("couldn't perform the operation, invalid response!"));
    return get(location);
  }

  private HttpResponse<String> call(String method, String path) throws Failure {
    return call(method, path, null);
  }

  private HttpResponse<String> call(String method, String path, String body) throws Failure {
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(30))
        .header(AdminEndpoint.COOKIE_HEADER, cookie)
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    try {
      return http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new Failure("couldn't perform the operation, is server running?");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
  }

  private static JsonObject parse(HttpResponse<String> r) throws Failure {
    if (r.statusCode() == 403) {
      throw new Failure("forbidden: wrong cookie");
    }
    JsonObject body;
    try {
      body = new JsonObject(r.body());
    } catch (RuntimeException e) {
      throw new Failure("couldn't perform the operation, invalid response!");
    }
    if (r.statusCode() >= 400) {
      throw new Failure(body.getString("error", "error " + r.statusCode()));
    }
    return body;
  }

}
