package io.webrocket.examples.chat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.webrocket.kosmonaut.Client;
import io.webrocket.kosmonaut.Json;
import io.webrocket.kosmonaut.KosmonautException;
import io.webrocket.kosmonaut.Trigger;
import io.webrocket.kosmonaut.Worker;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The example chat backend: a small HTTP service beside a WebRocket node, written with the
 * Kosmonaut library only. It issues single access tokens to the chat page, keeps rooms (presence
 * channels {@code presence-room-NAME}), runs a worker that saves the messages browsers trigger and
 * broadcasts them back, and broadcasts from a REST call. The HTTP contract is in the README
 * ("Example: the chat backend") and docs/backend-clients.md.
 *
 * <pre>
 * java -cp target/webrocket.jar io.webrocket.examples.chat.ChatBackend \
 *     --token "$(java -jar target/webrocket.jar admin show_vhost /demo | tail -1)"
 * </pre>
 */
public final class ChatBackend implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.webrocket.examples.chat");
  static final String PERMISSION = "^presence-room-.*$|^room-.*$";
  static final Pattern USER = Pattern.compile("[A-Za-z0-9_.-]{1,32}");
  static final int MAX_TEXT = 1000;
  /** Request bodies are small JSON objects: a message's 1,000 characters fit many times over. */
  static final int MAX_BODY = 16 * 1024;

  /** Where the backend listens and what it talks to. */
  record Settings(String host, int port, String nodeUrl, String wsUrl, Path web) {
    static Settings from(String[] args, Map<String, String> env) {
      Map<String, String> flags = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        String a = args[i].replaceFirst("^--?", "");
        int eq = a.indexOf('=');
        if (eq >= 0) {
          flags.put(a.substring(0, eq), a.substring(eq + 1));
        } else if (i + 1 < args.length) {
          flags.put(a, args[++i]);
        } else {
          throw new IllegalArgumentException("flag " + args[i] + " needs a value");
        }
      }
      String token = flags.getOrDefault("token", env.get("WEBROCKET_TOKEN"));
      String nodeUrl = flags.getOrDefault("node-url", env.get("WEBROCKET_URL"));
      if (nodeUrl == null) {
        if (token == null || token.isBlank()) {
          throw new IllegalArgumentException("give the /demo vhost's token: --token TOKEN or WEBROCKET_TOKEN "
              + "(java -jar target/webrocket.jar admin show_vhost /demo | tail -1), or a whole --node-url");
        }
        nodeUrl = "wr://" + token.trim() + "@127.0.0.1:8081/demo";
      }
      return new Settings(
          flags.getOrDefault("host", env.getOrDefault("CHAT_HOST", "127.0.0.1")),
          Integer.parseInt(flags.getOrDefault("port", env.getOrDefault("CHAT_PORT", "8090"))),
          nodeUrl,
          flags.getOrDefault("ws-url", env.getOrDefault("WEBROCKET_WS_URL", "ws://127.0.0.1:8080/demo")),
          Paths.get(flags.getOrDefault("web", env.getOrDefault("CHAT_WEB", "examples/chat/web"))));
    }
  }

  private final Settings settings;
  private final Client client;
  private final Worker worker;
  private final Rooms rooms = new Rooms();
  private final HttpServer http;
  private final ThreadPoolExecutor httpThreads;

  private ChatBackend(Settings settings) throws IOException {
    this.settings = settings;
    this.client = new Client(settings.nodeUrl());
    openRoom("lobby");
    this.worker = new Worker(settings.nodeUrl()).on("message", this::onMessage);
    worker.start();
    this.httpThreads = new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
        new ThreadPoolExecutor.CallerRunsPolicy());
    this.http = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 128);
    http.createContext("/", this::route);
    http.setExecutor(httpThreads);
    http.start();
  }

  /** Starts the backend: opens the lobby, starts the worker and the HTTP server. */
  static ChatBackend start(Settings settings) throws IOException {
    return new ChatBackend(settings);
  }

  public static void main(String[] args) throws Exception {
    Settings s;
    try {
      s = Settings.from(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    ChatBackend backend = start(s);
    Runtime.getRuntime().addShutdownHook(new Thread(backend::close));
    System.out.println("chat backend on http://" + s.host() + ":" + backend.port() + "/ (page files from "
        + s.web().toAbsolutePath() + "), browsers use " + s.wsUrl());
  }

  int port() {
    return http.getAddress().getPort();
  }

  @Override
  public void close() {
    http.stop(0);
    httpThreads.shutdown();
    worker.stop();
    client.close();
  }

  // ---- chat ----

  /** Opens the room's channel on the node (idempotent) and keeps the room. */
  private boolean openRoom(String name) {
    client.openChannel(Rooms.channel(name));
    return rooms.add(name);
  }

  /** The worker's handler: a browser triggered {@code message}. */
  private void onMessage(Trigger t) {
    try {
      Rooms.Message m = message(t.data().get("room"), t.data().get("user"), t.data().get("text"));
      post(m);
    } catch (IllegalArgumentException e) {
      LOG.log(System.Logger.Level.INFO, "ignored a message from " + t.sid() + ": " + e.getMessage());
    }
  }

  /** A validated message stamped now; IllegalArgumentException says what is wrong. */
  private Rooms.Message message(Object room, Object user, Object text) {
    if (!(room instanceof String r) || !rooms.exists(r)) {
      throw new IllegalArgumentException("no such room: " + room);
    }
    if (!(user instanceof String u) || !USER.matcher(u).matches()) {
      throw new IllegalArgumentException("user must be 1-32 of A-Z a-z 0-9 _ . -");
    }
    if (!(text instanceof String x) || x.isBlank() || x.length() > MAX_TEXT) {
      throw new IllegalArgumentException("text must be 1-" + MAX_TEXT + " characters");
    }
    return new Rooms.Message(r, u, x, System.currentTimeMillis());
  }

  /** Saves and broadcasts a message. */
  private void post(Rooms.Message m) {
    rooms.save(m);
    client.broadcast(Rooms.channel(m.room()), "message", m.toMap());
  }

  // ---- HTTP ----

  private void route(HttpExchange ex) {
    try (ex) {
      answer(ex);
    }
  }

  /** Answers one request; failures become JSON errors (a try-with-resources would close the exchange before them). */
  private void answer(HttpExchange ex) {
    try {
      String path = ex.getRequestURI().getRawPath();
      String method = ex.getRequestMethod();
      if (path.equals("/webrocket/config")) {
        only(ex, "GET");
        json(ex, 200, Map.of("url", settings.wsUrl()));
      } else if (path.equals("/webrocket/auth")) {
        only(ex, "POST");
        auth(ex);
      } else if (path.equals("/rooms")) {
        if (method.equals("POST")) {
          createRoom(ex);
        } else {
          only(ex, "GET");
          json(ex, 200, rooms.names());
        }
      } else if (path.startsWith("/rooms/") && path.endsWith("/messages")) {
        only(ex, "GET");
        String name = path.substring("/rooms/".length(), path.length() - "/messages".length());
        List<Map<String, Object>> list = Rooms.NAME.matcher(name).matches() ? rooms.messages(name) : null;
        if (list == null) {
          error(ex, 404, "no such room");
        } else {
          json(ex, 200, list);
        }
      } else if (path.equals("/broadcast")) {
        only(ex, "POST");
        Map<String, Object> b = body(ex);
        if (b.get("room") instanceof String r && !rooms.exists(r)) {
          throw new HttpError(404, "no such room");
        }
        Rooms.Message m = message(b.get("room"), b.getOrDefault("user", "system"), b.get("text"));
        post(m);
        json(ex, 200, m.toMap());
      } else if (method.equals("GET") || method.equals("HEAD")) {
        file(ex, path);
      } else {
        error(ex, 405, "method not allowed");
      }
    } catch (HttpError e) {
      error(ex, e.status, e.getMessage());
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "client gone: " + e);
    } catch (IllegalArgumentException e) {
      error(ex, 400, e.getMessage());
    } catch (KosmonautException e) {
      LOG.log(System.Logger.Level.WARNING, "WebRocket: " + e.getMessage());
      error(ex, 502, "WebRocket: " + e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.ERROR, "request failed", e);
      error(ex, 500, "internal error");
    }
  }

  private void auth(HttpExchange ex) throws IOException {
    Object uid = body(ex).get("uid");
    if (!(uid instanceof String u) || !USER.matcher(u).matches()) {
      throw new IllegalArgumentException("uid must be 1-32 of A-Z a-z 0-9 _ . -");
    }
    json(ex, 200, Map.of("token", client.requestSingleAccessToken(u, PERMISSION)));
  }

  private void createRoom(HttpExchange ex) throws IOException {
    Object name = body(ex).get("name");
    if (!(name instanceof String n) || !Rooms.NAME.matcher(n).matches()) {
      throw new IllegalArgumentException("name must be 1-32 of a-z 0-9 -");
    }
    try {
      boolean created = openRoom(n);
      json(ex, created ? 201 : 200, Map.of("name", n));
    } catch (IllegalStateException full) {
      throw new HttpError(429, full.getMessage());
    }
  }

  /** A file of the page directory; nothing outside it, and never webrocket.js (the broker serves it). */
  private void file(HttpExchange ex, String rawPath) throws IOException {
    String name = rawPath.equals("/") ? "index.html" : rawPath.substring(1);
    Path root = settings.web().toAbsolutePath().normalize();
    Path f = root.resolve(name).normalize();
    if (name.contains("%") || name.contains("\\") || !f.startsWith(root) || name.equals("webrocket.js")
        || !Files.isRegularFile(f)) {
      throw new HttpError(404, "not found");
    }
    byte[] bytes = Files.readAllBytes(f);
    ex.getResponseHeaders().set("Content-Type", contentType(name));
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(200, -1);
      return;
    }
    ex.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String contentType(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    if (n.endsWith(".html")) {
      return "text/html; charset=utf-8";
    } else if (n.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    } else if (n.endsWith(".css")) {
      return "text/css; charset=utf-8";
    } else if (n.endsWith(".json")) {
      return "application/json";
    } else if (n.endsWith(".svg")) {
      return "image/svg+xml";
    } else if (n.endsWith(".png")) {
      return "image/png";
    } else if (n.endsWith(".ico")) {
      return "image/x-icon";
    }
    return "application/octet-stream";
  }

  /** A status and message for the client. */
  private static final class HttpError extends RuntimeException {
    final int status;

    HttpError(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private static void only(HttpExchange ex, String method) {
    if (!ex.getRequestMethod().equals(method)) {
      ex.getResponseHeaders().set("Allow", method);
      throw new HttpError(405, "method not allowed");
    }
  }

  /** The request body as a JSON object, at most {@link #MAX_BODY} bytes. */
  private static Map<String, Object> body(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      byte[] b = in.readNBytes(MAX_BODY + 1);
      if (b.length > MAX_BODY) {
        throw new HttpError(413, "body over " + MAX_BODY + " bytes");
      }
      return Json.readObject(new String(b, StandardCharsets.UTF_8));
    }
  }

  private static void json(HttpExchange ex, int status, Object value) throws IOException {
    byte[] b = Json.write(value).getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  private static void error(HttpExchange ex, int status, String message) {
    try {
      json(ex, status, Map.of("error", String.valueOf(message)));
    } catch (IOException | RuntimeException e) {
      // the response was already started, or the client has gone
    }
  }
}
