package io.webrocket.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A TCP load balancer for tests, standing in for the compose file's haproxy: one listening port
 * in front of several backend ports, new connections spread round-robin, a backend that refuses
 * the connection skipped (as a failed health check would). Bytes are copied both ways as they
 * come, so WebSocket and WBP connections pass through unchanged.
 */
public final class TcpBalancer implements AutoCloseable {
  public final int port;
  private final List<Integer> backends;
  private final ServerSocket server;
  private final AtomicInteger next = new AtomicInteger();
  /** Connections each backend has received. */
  public final AtomicIntegerArray accepted;
  private final List<Socket> open = new CopyOnWriteArrayList<>();

  public TcpBalancer(List<Integer> backends) {
    this.backends = List.copyOf(backends);
    this.accepted = new AtomicIntegerArray(backends.size());
    try {
      server = new ServerSocket();
      server.bind(new InetSocketAddress("127.0.0.1", 0));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    port = server.getLocalPort();
    Thread t = new Thread(this::acceptLoop, "balancer-" + port);
    t.setDaemon(true);
    t.start();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        open.add(client);
        Socket backend = connect();
        if (backend == null) {
          client.close();
          continue;
        }
        open.add(backend);
        pump(client, backend);
        pump(backend, client);
      } catch (IOException e) {
        // closed, or one connection failed: keep serving the others
      }
    }
  }

  private Socket connect() {
    for (int tries = 0; tries < backends.size(); tries++) {
      int i = Math.floorMod(next.getAndIncrement(), backends.size());
      try {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", backends.get(i)), 1_000);
        accepted.incrementAndGet(i);
        return s;
      } catch (IOException down) {
        // next backend
      }
    }
    return null;
  }

  private static void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16384];
      try (InputStream in = from.getInputStream()) {
        OutputStream out = to.getOutputStream();
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
        to.shutdownOutput();
      } catch (IOException e) {
        try {
          to.close();
        } catch (IOException ignored) {
          // already gone
        }
      }
    });
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }
}
