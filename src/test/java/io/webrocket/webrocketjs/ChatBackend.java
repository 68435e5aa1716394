package io.webrocket.webrocketjs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.WbpClient;
import io.webrocket.test.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test backend for the webrocket.js tests, speaking WBP to a real node with the test fixtures.
 * The real example backend ({@code io.webrocket.examples.chat.ChatBackend}) is driven with the demo
 * page by {@code ChatDemoBrowserTest}; this one stays because these tests need more than its
 * contract: the harness pages, the 2012 yodachat token route and worker job, token requests
 * that fail on demand, counts of tokens issued and the triggers received, and a node that moves
 * ports on restart. It implements the demo page's contract too: serves
 * {@code examples/chat/web/} at {@code /}, the test pages at {@code /test/},
 * {@code GET /webrocket/config}, {@code POST /webrocket/auth} ({@code AT} for the uid),
 * {@code GET /webrocket/auth.json?uid=U} (the 2012 yodachat style), {@code GET/POST /rooms},
 * {@code GET /rooms/NAME/messages}; and a worker ({@code dlr}) that saves each {@code message}
 * trigger and broadcasts it on {@code presence-room-ROOM}. The vhost's channels must exist.
 */
final class ChatBackend implements AutoCloseable {
  static final String PERMISSION = "^presence-room-.*$|^room-.*$|^private-.*$|^presence-.*$";

  final int port;
  final String vhost;
  final String token;
  volatile int wsPort;
  volatile int backendPort;
  /** Tokens handed out, per uid (the pages' token callbacks). */
  final Map<String, AtomicInteger> tokensIssued = new ConcurrentHashMap<>();
  /** uids whose token requests fail with 500. */
  final java.util.Set<String> refuse = ConcurrentHashMap.newKeySet();
  /** Every trigger the worker got, as the JSON of its TR frame. */
  final List<JsonObject> triggers = new CopyOnWriteArrayList<>();

  private final HttpServer http;
  private final List<String> rooms = new CopyOnWriteArrayList<>(List.of("lobby"));
  private final Map<String, List<JsonObject>> messages = new ConcurrentHashMap<>();
  private final Thread worker;
  private volatile boolean closed;

  ChatBackend(String vhost, String token, int wsPort, int backendPort) throws IOException {
    this.vhost = vhost;
    this.token = token;
    this.wsPort = wsPort;
    this.backendPort = backendPort;
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    http.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "chat-backend-http");
      t.setDaemon(true);
      return t;
    }));
    http.createContext("/", this::handle);
    http.start();
    port = http.getAddress().getPort();
    worker = new Thread(this::work, "chat-backend-worker");
    worker.setDaemon(true);
    worker.start();
  }

  String url(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  List<String> wbp(String... frames) {
    try (WbpClient c = WbpClient.connect(backendPort)) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  String accessToken(String uid) {
    List<String> r = wbp("AT", uid, PERMISSION);
    if (!"AT".equals(r.get(0))) {
      throw new IllegalStateException("AT refused: " + r);
    }
    tokensIssued.computeIfAbsent(uid, u -> new AtomicInteger()).incrementAndGet();
    return r.get(1);
  }

  void openRoom(String name) {
    List<String> r = wbp("OC", "presence-room-" + name);
    if (!"OK".equals(r.get(0))) {
      throw new IllegalStateException("OC refused: " + r);
    }
    if (!rooms.contains(name)) {
      rooms.add(name);
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String method = ex.getRequestMethod();
      String path = ex.getRequestURI().getPath();
      Map<String, String> query = query(ex.getRequestURI().getRawQuery());
      if (path.equals("/webrocket/config")) {
        json(ex, 200, new JsonObject().put("url", "ws://127.0.0.1:" + wsPort + vhost).encode());
      } else if (path.equals("/webrocket/auth") && method.equals("POST")) {
        String uid = new JsonObject(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).getString("uid");
        token(ex, uid);
      } else if (path.equals("/webrocket/auth.json")) {
        token(ex, query.get("uid"));
      } else if (path.equals("/rooms") && method.equals("POST")) {
        String name = new JsonObject(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).getString("name");
        openRoom(name);
        json(ex, 201, new JsonObject().put("name", name).encode());
      } else if (path.equals("/rooms")) {
        json(ex, 200, new JsonArray(new ArrayList<>(rooms)).encode());
      } else if (path.startsWith("/rooms/") && path.endsWith("/messages")) {
        String room = path.substring("/rooms/".length(), path.length() - "/messages".length());
        json(ex, 200, new JsonArray(new ArrayList<>(messages.getOrDefault(room, List.of()))).encode());
      } else if (path.startsWith("/test/")) {
        file(ex, ChatBackend.class.getResourceAsStream("/webrocketjs/" + path.substring("/test/".length())), path);
      } else {
        Path f = Path.of("examples/chat/web", path.equals("/") ? "index.html" : path.substring(1)).normalize();
        file(ex, f.startsWith("examples/chat/web") && Files.isRegularFile(f) ? Files.newInputStream(f) : null, f.toString());
      }
    } catch (RuntimeException e) {
      ex.sendResponseHeaders(500, -1);
    }
  }

  private void token(HttpExchange ex, String uid) throws IOException {
    if (uid == null || refuse.contains(uid)) {
      json(ex, 500, "{\"error\":\"refused\"}");
      return;
    }
    json(ex, 200, new JsonObject().put("token", accessToken(uid)).encode());
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new ConcurrentHashMap<>();
    if (raw != null) {
      for (String kv : raw.split("&")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          q.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return q;
  }

  private static void json(HttpExchange ex, int status, String body) throws IOException {
    send(ex, status, "application/json", body.getBytes(StandardCharsets.UTF_8));
  }

  private static void file(HttpExchange ex, InputStream in, String name) throws IOException {
    if (in == null) {
      send(ex, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
      return;
    }
    byte[] body;
    try (in) {
      body = in.readAllBytes();
    }
    String type = name.endsWith(".html") ? "text/html; charset=utf-8"
        : name.endsWith(".js") ? "text/javascript; charset=utf-8"
        : name.endsWith(".css") ? "text/css; charset=utf-8" : "application/octet-stream";
    send(ex, 200, type, body);
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** The worker: RD, HB every 300 ms, and each TR handled; reconnects when the node goes away. */
  private void work() {
    while (!closed) {
      try (WbpClient w = WbpClient.connect(backendPort)) {
        String identity = WbpClient.identity("dlr", vhost, token);
        w.write(WbpClient.message(identity, "RD"));
        w.setTimeout(300);
        while (!closed) {
          List<String> m;
          try {
            m = w.read();
          } catch (AssertionError quiet) {
            if (String.valueOf(quiet.getMessage()).startsWith("connection closed")) {
              break;
            }
            w.write(WbpClient.message(identity, "HB"));
            continue;
          }
          if (m.get(0).equals("TR")) {
            onTrigger(new JsonObject(m.get(1)));
          } else if (m.get(0).equals("QT")) {
            break;
          }
        }
      } catch (RuntimeException | AssertionError e) {
        // the node is away (restart): try again shortly
      }
      Await.pause(200); // pacing the reconnect loop
    }
  }

  private void onTrigger(JsonObject tr) {
    triggers.add(tr);
    JsonObject yoda = tr.getJsonObject("chat/yodaize_and_broadcast");
    if (yoda != null) {
      // The 2012 yodachat worker's job: the message, Yoda's word order, to the room.
      wbp("BC", yoda.getString("channel"), "messageSent", new JsonObject()
          .put("author", yoda.getString("author"))
          .put("message", "there, hello " + yoda.getString("message").replace("hello there", "").trim() + "it is")
          .put("posted_at", System.currentTimeMillis()).encode());
      return;
    }
    JsonObject m = tr.getJsonObject("message");
    if (m == null) {
      return;
    }
    String room = m.getString("room", "lobby");
    JsonObject saved = new JsonObject()
        .put("room", room)
        .put("user", m.getString("user"))
        .put("text", m.getString("text"))
        .put("time", System.currentTimeMillis());
    messages.computeIfAbsent(room, r -> new CopyOnWriteArrayList<>()).add(saved);
    wbp("BC", "presence-room-" + room, "message", saved.encode());
  }

  @Override
  public void close() {
    closed = true;
    http.stop(0);
    ((java.util.concurrent.ExecutorService) http.getExecutor()).shutdownNow();
  }
}
