package io.webrocket.test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A raw TCP client for the backend protocol, used from the test thread: writes exact bytes and
 * reads the broker's messages ({@code CMD\n frames \n\r\n\r\n}) as frame lists.
 */
public final class WbpClient implements AutoCloseable {
  public static final int TIMEOUT_MS = 5_000;
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final ByteArrayOutputStream buffered = new ByteArrayOutputStream();

  private WbpClient(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(TIMEOUT_MS);
    socket.setTcpNoDelay(true);
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  public static WbpClient connect(int port) {
    try {
      return new WbpClient(new Socket("127.0.0.1", port));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A client over a socket the caller made (e.g. a TLS socket), connected. */
  public static WbpClient over(Socket socket) {
    try {
      return new WbpClient(socket);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String identity(String type, String vhost, String token) {
    return type + ":" + vhost + ":" + token + ":" + UUID.randomUUID();
  }

  /** The Go/Ruby framing: identity, empty line, frames, each with {@code \n}, then {@code \r\n\r\n}. */
  public static String message(String identity, String... frames) {
    StringBuilder b = new StringBuilder();
    if (identity != null) {
      b.append(identity).append("\n\n");
    }
    b.append(String.join("\n", frames)).append("\n\r\n\r\n");
    return b.toString();
  }

  public WbpClient write(String raw) {
    return write(raw.getBytes(StandardCharsets.UTF_8));
  }

  public WbpClient write(byte[] raw) {
    try {
      out.write(raw);
      out.flush();
      return this;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Sends one request and reads one reply. */
  public List<String> request(String identity, String... frames) {
    write(message(identity, frames));
    return read();
  }

  /**
   * Reads the next broker message: its frames, command first. The broker's trailing empty
   * frame (as in {@code OK\n\n\r\n\r\n}) is kept. Throws if the stream ends first.
   */
  /**
   * A worker's count of the {@code TR}s it receives within {@code ms}, stopping as soon as it
   * has {@code enough}, or when the connection ends. Unlike {@link #triggersUntilQuiet}, the
   * broker's heartbeats do not prolong the wait: a worker that stays registered (a long {@code
   * backend.workerExpiryMs}) gets one every {@code heartbeatIntervalMs} and is never quiet.
   */
  public int triggersWithin(long ms, int enough) {
    int got = 0;
    long end = System.nanoTime() + ms * 1_000_000;
    try {
      while (got < enough) {
        long left = (end - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          break;
        }
        setTimeout((int) Math.max(1, left));
        if (read().get(0).equals("TR")) {
          got++;
        }
      }
    } catch (AssertionError | RuntimeException timedOutOrClosed) {
      // fewer than enough
    }
    return got;
  }

  /**
   * A worker's count of the {@code TR}s it receives (heartbeats aside) until nothing has come for
   * {@code quietMs}, or the connection ends. Leaves the read timeout at {@code quietMs}.
   */
  public int triggersUntilQuiet(int quietMs) {
    int got = 0;
    setTimeout(quietMs);
    try {
      while (true) {
        if (read().get(0).equals("TR")) {
          got++;
        }
      }
    } catch (AssertionError | RuntimeException quiet) {
      return got;
    }
  }

  public List<String> read() {
    try {
      while (true) {
        byte[] b = buffered.toByteArray();
        String s = new String(b, StandardCharsets.UTF_8);
        int end = s.indexOf("\n\r\n\r\n");
        if (end >= 0) {
          byte[] rest = s.substring(end + 5).getBytes(StandardCharsets.UTF_8);
          buffered.reset();
          buffered.write(rest);
          return new ArrayList<>(List.of(s.substring(0, end).split("\n", -1)));
        }
        byte[] chunk = new byte[8192];
        int n = in.read(chunk);
        if (n < 0) {
          throw new AssertionError("connection closed; unread: " + s);
        }
        buffered.write(chunk, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no message within " + TIMEOUT_MS + " ms");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Everything until the broker closes the connection, as raw text. */
  public String readToEnd() {
    try {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      all.write(buffered.toByteArray());
      buffered.reset();
      in.transferTo(all);
      return all.toString(StandardCharsets.UTF_8);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection not closed within " + TIMEOUT_MS + " ms");
    } catch (IOException e) {
      return "";
    }
  }

  /** True if the broker closed the connection (EOF) within the timeout, with nothing more sent. */
  public boolean closedByPeer() {
    try {
      return buffered.size() == 0 && in.read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  public void setTimeout(int ms) {
    try {
      socket.setSoTimeout(ms);
    } catch (IOException e) {
      throw new IllegalStateException(e);
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
