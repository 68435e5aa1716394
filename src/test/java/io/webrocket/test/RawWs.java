package io.webrocket.test;

import io.vertx.core.json.JsonObject;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The tests' one hand-written WebSocket client (RFC 6455) on a bare {@link Socket}: the HTTP
 * upgrade written by hand, frames masked and parsed here. For what a library client will not
 * do: tiny receive buffers and never reading, half frames, exact handshake statuses, Origin
 * headers, ping frames (counted; answered unless {@link #answerPings} is off), dropping the TCP
 * connection without a close handshake. Used from one thread.
 */
public final class RawWs implements AutoCloseable {
  public static final int OP_CONTINUATION = 0x0;
  public static final int OP_TEXT = 0x1;
  public static final int OP_BINARY = 0x2;
  public static final int OP_CLOSE = 0x8;
  public static final int OP_PING = 0x9;
  public static final int OP_PONG = 0xA;

  /** One server frame; {@code fin} false for all but the last fragment of a message. */
  public record Frame(int opcode, byte[] payload, boolean fin) {
    public Frame(int opcode, byte[] payload) {
      this(opcode, payload, true);
    }

    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The status of a close frame (opcode 8), -1 if it has none. */
    public int closeStatus() {
      return opcode == 8 && payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : -1;
    }
  }

  public final Socket socket;
  /** The HTTP status of the upgrade: 101 if a WebSocket opened. */
  public final int status;
  /** Pings seen by {@link #next()}, {@link #awaitClose()} and {@link #nextFrame()}'s callers that count them. */
  public int pingsSeen;
  /** Whether {@link #next()} and {@link #awaitClose()} answer pings with pongs (a silent peer turns it off). */
  public boolean answerPings = true;
  private final DataInputStream in;
  private final OutputStream out;

  private RawWs(Socket socket, int status, DataInputStream in) throws IOException {
    this.socket = socket;
    this.status = status;
    this.in = in;
    this.out = socket.getOutputStream();
  }

  /** Upgrades {@code path}; {@code origin} null sends none; {@code receiveBuffer} 0 keeps the OS default. */
  public static RawWs connect(int port, String path, String origin, int receiveBuffer) {
    Socket s = new Socket();
    try {
      if (receiveBuffer > 0) {
        s.setReceiveBufferSize(receiveBuffer); // before connect, so the window is small from the start
      }
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(5_000);
      byte[] nonce = new byte[16];
      ThreadLocalRandom.current().nextBytes(nonce);
      StringBuilder req = new StringBuilder()
          .append("GET ").append(path).append(" HTTP/1.1\r\n")
          .append("Host: 127.0.0.1:").append(port).append("\r\n")
          .append("Upgrade: websocket\r\n")
          .append("Connection: Upgrade\r\n")
          .append("Sec-WebSocket-Key: ").append(Base64.getEncoder().encodeToString(nonce)).append("\r\n")
          .append("Sec-WebSocket-Version: 13\r\n");
      if (origin != null) {
        req.append("Origin: ").append(origin).append("\r\n");
      }
      req.append("\r\n");
      s.getOutputStream().write(req.toString().getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 512));
      String head = readHead(in);
      int status = Integer.parseInt(head.split(" ", 3)[1]);
      return new RawWs(s, status, in);
    } catch (IOException e) {
      try {
        s.close();
      } catch (IOException ignored) {
        // nothing to release
      }
      throw new IllegalStateException("upgrade of " + path + ": " + e, e);
    }
  }

  /** Upgrades {@code path} without an Origin header; check {@link #status} (101 when it opened). */
  public static RawWs connect(int port, String path) {
    return connect(port, path, null, 0);
  }

  /** The HTTP status the server answers an upgrade of {@code path} with; the socket is closed. */
  public static int handshakeStatus(int port, String path, String origin) {
    try (RawWs ws = connect(port, path, origin, 0)) {
      return ws.status;
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed during the handshake: " + b);
      }
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  /** A masked client frame, FIN set. */
  public static byte[] frame(int opcode, byte[] payload) {
    return frame(true, opcode, payload);
  }

  /** A masked client frame; {@code fin} false for all but the last fragment of a message. */
  public static byte[] frame(boolean fin, int opcode, byte[] payload) {
    ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
    f.write((fin ? 0x80 : 0) | opcode);
    int n = payload.length;
    if (n < 126) {
      f.write(0x80 | n);
    } else if (n < 65536) {
      f.write(0x80 | 126);
      f.write(n >>> 8);
      f.write(n);
    } else {
      f.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) n >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    f.write(mask, 0, 4);
    for (int i = 0; i < n; i++) {
      f.write(payload[i] ^ mask[i & 3]);
    }
    return f.toByteArray();
  }

  public void sendText(String text) {
    sendRaw(frame(1, text.getBytes(StandardCharsets.UTF_8)));
  }

  /** Sends {@code {"event": payload}}. */
  public void send(String event, JsonObject payload) {
    sendText(new JsonObject().put(event, payload).encode());
  }

  /** Writes one masked frame. */
  public void sendFrame(boolean fin, int opcode, byte[] payload) {
    sendRaw(frame(fin, opcode, payload));
  }

  public void sendRaw(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public void setTimeout(int ms) {
    timeout(ms);
  }

  /**
   * Sets the socket's receive buffer after connecting. A socket connected with a small buffer
   * (to make the server queue and drop) reads what the server's kernel still holds only a few
   * hundred bytes per window probe; a larger buffer opens the window again, so a test drains
   * that backlog in milliseconds, not minutes.
   */
  public void receiveBuffer(int bytes) {
    try {
      socket.setReceiveBufferSize(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public void timeout(int ms) {
    try {
      socket.setSoTimeout(ms);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The next frame; throws {@link SocketTimeoutException} after the timeout, {@link EOFException} at the end. */
  public Frame readFrame() throws IOException {
    int b0 = in.readUnsignedByte();
    int b1 = in.readUnsignedByte();
    long n = b1 & 0x7f;
    if (n == 126) {
      n = in.readUnsignedShort();
    } else if (n == 127) {
      n = in.readLong();
    }
    if ((b1 & 0x80) != 0) {
      throw new IOException("server frames are never masked");
    }
    if (n > 16 * 1024 * 1024) {
      throw new IOException("frame too large: " + n);
    }
    byte[] payload = new byte[(int) n];
    in.readFully(payload);
    return new Frame(b0 & 0x0f, payload, (b0 & 0x80) != 0);
  }

  /** The next frame of any kind; null when the connection ended (EOF or reset); fails after the timeout. */
  public Frame nextFrame() {
    try {
      return readFrame();
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no frame within the socket timeout");
    } catch (IOException e) {
      return null; // EOF or reset by peer
    }
  }

  /** The next text message as JSON, skipping (and counting, and if {@link #answerPings} answering) pings. */
  public JsonObject next() {
    JsonObject m = nextOrNull();
    if (m == null) {
      throw new AssertionError("no frame within the socket timeout");
    }
    return m;
  }

  /**
   * As {@link #next}, but null when no frame comes within the socket timeout: for a test that
   * reads until the server has nothing more. An end of the connection or a close still fails.
   */
  public JsonObject nextOrNull() {
    while (true) {
      Frame f;
      try {
        f = readFrame();
      } catch (SocketTimeoutException e) {
        return null;
      } catch (IOException e) {
        f = null;
      }
      if (f == null) {
        throw new AssertionError("connection ended");
      }
      switch (f.opcode()) {
        case OP_PING -> ping(f);
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

  /** The payload of the next message, which must be {@code {"event": {...}}} alone. */
  public JsonObject expect(String event) {
    JsonObject m = next();
    if (!m.containsKey(event) || m.size() != 1) {
      throw new AssertionError("expected " + event + ", got " + m);
    }
    return m.getJsonObject(event);
  }

  private void ping(Frame f) {
    pingsSeen++;
    if (answerPings) {
      sendRaw(frame(OP_PONG, f.payload()));
    }
  }

  /** The next text frame's text (pings are skipped), failing on anything else. */
  public String readText() {
    try {
      while (true) {
        Frame f = readFrame();
        if (f.opcode() == 1) {
          return f.text();
        }
        if (f.opcode() != 9 && f.opcode() != 10) {
          throw new AssertionError("expected a text frame, got opcode " + f.opcode() + " status " + f.closeStatus());
        }
      }
    } catch (IOException e) {
      throw new AssertionError("no text frame: " + e, e);
    }
  }

  /**
   * Reads until a close frame or the end of the stream and returns the close status: the
   * frame's, or -1 for an end without one. Pings are counted and (if {@link #answerPings})
   * answered; everything else is skipped.
   */
  public int awaitClose() {
    try {
      while (true) {
        Frame f = readFrame();
        if (f.opcode() == OP_CLOSE) {
          return f.closeStatus();
        }
        if (f.opcode() == OP_PING) {
          ping(f);
        }
      }
    } catch (EOFException e) {
      return -1;
    } catch (IOException e) {
      if (e instanceof SocketTimeoutException) {
        throw new AssertionError("not closed in time", e);
      }
      return -1; // reset
    }
  }

  /** Drops the TCP connection at once: no close frame, a reset instead of a FIN. */
  public void dropAbruptly() {
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
