package io.webrocket.test;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real WebSocket client for tests, used from the test thread: sends WWFP messages and
 * collects every text message the server sends, in order. Uses its own Vert.x instance.
 */
public final class WsClient implements AutoCloseable {
  private static final Vertx VERTX = Vertx.vertx();
  /**
   * One client for every connection, held for good: Vert.x closes a client that is no longer
   * referenced when the garbage collector finds it, and with it the connections it made.
   */
  private static final WebSocketClient CLIENT = client();
  public static final long TIMEOUT_MS = 5_000;

  private final WebSocket ws;
  private final LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
  public final CompletableFuture<Short> closeStatus = new CompletableFuture<>();
  public final String sid;

  private WsClient(ClientWebSocket ws, WebSocketConnectOptions options) {
    this.ws = ws;
    // Handlers go on before the upgrade: the server's first message may come with it.
    ws.textMessageHandler(received::add);
    ws.closeHandler(v -> closeStatus.complete(ws.closeStatusCode() == null ? -1 : ws.closeStatusCode()));
    await(ws.connect(options));
    JsonObject connected = next();
    if (!connected.containsKey(":connected")) {
      throw new IllegalStateException("expected :connected, got " + connected);
    }
    sid = connected.getJsonObject(":connected").getString("sid");
  }

  /** Waits for {@code f} at most the test timeout. */
  public static <T> T await(io.vertx.core.Future<T> f) {
    try {
      return f.await(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("timed out", e);
    }
  }

  public static WebSocketClient client() {
    return VERTX.createWebSocketClient(new WebSocketClientOptions()
        .setMaxFrameSize(16 * 1024 * 1024)
        .setMaxMessageSize(16 * 1024 * 1024)
        .setMaxConnections(10_000));
  }

  public static WsClient connect(int port, String vhost) {
    return new WsClient(CLIENT.webSocket(),
        new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI(vhost));
  }

  public static Vertx vertx() {
    return VERTX;
  }

  public WebSocket socket() {
    return ws;
  }

  public void send(String text) {
    await(ws.writeTextMessage(text));
  }

  public void send(String event, JsonObject payload) {
    send(new JsonObject().put(event, payload).encode());
  }

  public void sendBinary(Buffer b) {
    await(ws.writeBinaryMessage(b));
  }

  /** The next message, or an AssertionError after the timeout. */
  public JsonObject next() {
    try {
      String s = received.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      if (s == null) {
        throw new AssertionError("no message within " + TIMEOUT_MS + " ms");
      }
      return new JsonObject(s);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** The raw text of the next message. */
  public String nextText() {
    try {
      String s = received.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      if (s == null) {
        throw new AssertionError("no message within " + TIMEOUT_MS + " ms");
      }
      return s;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** The payload of the next message, which must be {@code event}. */
  public JsonObject expect(String event) {
    JsonObject m = next();
    if (!m.containsKey(event) || m.size() != 1) {
      throw new AssertionError("expected " + event + ", got " + m);
    }
    return m.getJsonObject(event);
  }

  /** Expects {@code :error} with {@code code}. */
  public void expectError(int code) {
    JsonObject e = expect(":error");
    if (e.getInteger("code") != code) {
      throw new AssertionError("expected error " + code + ", got " + e);
    }
  }

  /** Every message received and not yet taken, without waiting. */
  public java.util.List<String> drainReceived() {
    java.util.List<String> all = new java.util.ArrayList<>();
    received.drainTo(all);
    return all;
  }

  /** Asserts nothing arrives for {@code ms}. */
  public void expectSilence(long ms) {
    try {
      String s = received.poll(ms, TimeUnit.MILLISECONDS);
      if (s != null) {
        throw new AssertionError("expected nothing, got " + s);
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  public JsonObject subscribe(String channel) {
    send("subscribe", new JsonObject().put("channel", channel));
    return expect(":subscribed");
  }

  public void auth(String token) {
    send("auth", new JsonObject().put("token", token));
    expect(":authenticated");
  }

  /** Waits for the server to close the socket; returns the close status (-1 if none). */
  public short awaitClose() {
    try {
      return closeStatus.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("socket not closed within " + TIMEOUT_MS + " ms");
    }
  }

  public boolean isClosed() {
    return ws.isClosed();
  }

  @Override
  public void close() {
    if (!ws.isClosed()) {
      await(ws.close());
    }
  }
}
