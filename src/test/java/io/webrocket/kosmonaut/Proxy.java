package io.webrocket.kosmonaut;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay in front of a real broker that the test can misbehave with: hold back the broker's
 * replies (the broker still gets and carries out every request), and cut every connection.
 */
final class Proxy implements AutoCloseable {
  final int port;
  private final int target;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  final AtomicInteger accepted = new AtomicInteger();
  /** While true, bytes from the broker are read and thrown away. */
  volatile boolean swallowReplies;

  Proxy(int target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.port = server.getLocalPort();
    Thread t = new Thread(this::accept, "test-proxy");
    t.setDaemon(true);
    t.start();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket c = server.accept();
        accepted.incrementAndGet();
        Socket b = new Socket(InetAddress.getLoopbackAddress(), target);
        sockets.add(c);
        sockets.add(b);
        pump(c, b, false);
        pump(b, c, true);
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, boolean replies) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          if (!(replies && swallowReplies)) {
            out.write(buf, 0, n);
          }
        }
      } catch (IOException ignored) {
        // cut
      } finally {
        close(from);
        close(to);
      }
    }, "test-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  /** Cuts every connection made so far (both sides). */
  void cutAll() {
    for (Socket s : java.util.List.copyOf(sockets)) {
      sockets.remove(s);
      close(s);
    }
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // gone
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cutAll();
  }
}
