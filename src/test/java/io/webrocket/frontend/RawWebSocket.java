package io.webrocket.frontend;


import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client written by hand on a {@link Socket}, for what a real client library hides:
 * the HTTP status of a refused upgrade, ping frames (it never answers them unless asked), raw
 * frames, and dropping the TCP connection without a close handshake.
 */
final class RawWebSocket implements AutoCloseable {
  static final int OP_CONTINUATION = 0x0;
  static final int OP_TEXT = 0x1;
  static final int OP_BINARY = 0x2;
  static final int OP_CLOSE = 0x8;
  static final int OP_PING = 0x9;
  static final int OP_PONG = 0xA;

  record Frame(boolean fin, int opcode, byte[] payload) {
    String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The status code of a close frame, -1 if it has none. */
    int closeStatus() {
      return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : -1;
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  /** The HTTP status line's code of the upgrade response. */
  final int status;
  /** Pings seen so far. */
  int pingsSeen;
  /** Answer pings with pongs while reading. */
  boolean answerPings;

  private RawWebSocket(Socket socket, int status) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
    this.status = status;
  }

  /** Does the HTTP upgrade for {@code path}; check {@link #status} (101 when it opened). */
  static RawWebSocket connect(int port, String path) {
    try {
      Socket s = new Socket("127.0.0.1", port);
      s.setSoTimeout(5_000);
      s.setTcpNoDelay(true);
      byte[] key = new byte[16];
      ThreadLocalRandom.current().nextBytes(key);
      String request = "GET " + path + " HTTP/1.1\r\n"
          + "Host: 127.0.0.1:" + port + "\r\n"
          + "Upgrade: websocket\r\n"
          + "Connection: Upgrade\r\n"
          + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n";
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String head = readHead(s);
      String[] statusLine = head.substring(0, head.indexOf("\r\n")).split(" ");
      return new RawWebSocket(s, Integer.parseInt(statusLine[1]));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The response head up to the empty line, byte by byte so no frame byte is consumed. */
  private static String readHead(Socket s) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    var in = s.getInputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      String h = head.toString(StandardCharsets.US_ASCII);
      if (h.endsWith("\r\n\r\n")) {
        return h;
      }
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  void setTimeout(int ms) {
    try {
      socket.setSoTimeout(ms);
    } catch (SocketException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes one masked frame, as a client must. */
  void sendFrame(boolean fin, int opcode, byte[] payload) {
    try {
      ByteArrayOutputStream f = new ByteArrayOutputStream();
      f.write((fin ? 0x80 : 0) | opcode);
      int len = payload.length;
      if (len < 126) {
        f.write(0x80 | len);
      } else if (len < 65536) {
        f.write(0x80 | 126);
        f.write(len >>> 8);
        f.write(len);
      } else {
        f.write(0x80 | 127);
        for (int i = 7; i >= 0; i--) {
          f.write((int) ((long) len >>> (8 * i)));
        }
      }
      byte[] mask = new byte[4];
      ThreadLocalRandom.current().nextBytes(mask);
      f.write(mask);
      for (int i = 0; i < len; i++) {
        f.write(payload[i] ^ mask[i % 4]);
      }
      out.write(f.toByteArray());
      out.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  void sendText(String text) {
    sendFrame(true, OP_TEXT, text.getBytes(StandardCharsets.UTF_8));
  }

  void send(String event, JsonObject payload) {
    sendText(new JsonObject().put(event, payload).encode());
  }

  /** The next frame of any kind; null when the connection ended (EOF or reset). */
  Frame readFrame() {
    try {
      int b0 = in.readUnsignedByte();
      int b1 = in.readUnsignedByte();
      long len = b1 & 0x7F;
      if (len == 126) {
        len = in.readUnsignedShort();
      } else if (len == 127) {
        len = in.readLong();
      }
      if ((b1 & 0x80) != 0) {
        throw new AssertionError("server frames must not be masked");
      }
      byte[] payload = new byte[(int) len];
      in.readFully(payload);
      return new Frame((b0 & 0x80) != 0, b0 & 0x0F, payload);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no frame within the socket timeout");
    } catch (EOFException e) {
      return null;
    } catch (IOException e) {
      return null; // reset by peer
    }
  }

  /** The next text message (data frames only), skipping and counting pings. */
  JsonObject next() {
    while (true) {
      Frame f = readFrame();
      if (f == null) {
        throw new AssertionError("connection ended");
      }
      switch (f.opcode()) {
        case OP_PING -> {
          pingsSeen++;
          if (answerPings) {
            sendFrame(true, OP_PONG, f.payload());
          }
        }
        case OP_TEXT -> {
          if (!f.fin()) {
            throw new AssertionError("the server fragments its messages");
          }
          return new JsonObject(f.text());
        }
        default -> throw new AssertionError("unexpected frame opcode " + f.opcode());
      }
    }
  }

  JsonObject expect(String event) {
    JsonObject m = next();
    if (!m.containsKey(event) || m.size() != 1) {
      throw new AssertionError("expected " + event + ", got " + m);
    }
    return m.getJsonObject(event);
  }

  /**
   * Reads until the server ends the connection; returns the close frame's status, or -1 if the
   * connection ended without one. Pings are counted (answered if {@link #answerPings}).
   */
  int awaitClose() {
    while (true) {
      Frame f = readFrame();
      if (f == null) {
        return -1;
      }
      if (f.opcode() == OP_PING) {
        pingsSeen++;
        if (answerPings) {
          sendFrame(true, OP_PONG, f.payload());
        }
      } else if (f.opcode() == OP_CLOSE) {
        return f.closeStatus();
      }
    }
  }

  /** Drops the TCP connection at once: no close frame, a reset instead of a FIN. */
  void dropAbruptly() {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException ignored) {
      // gone either way
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already gone
    }
  }
}
