package io.webrocket.kosmonaut;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The 2012 server's one-shot behaviour, which today's broker has no setting for: every
 * connection carries one request; {@code KA} is an unknown command ({@code ER 400}); the reply
 * is written and the connection closed. Records the requests it got.
 */
final class FakeServer2012 implements AutoCloseable {
  final int port;
  private final ServerSocket server;
  /** Each connection's request frames (identity first). */
  final List<List<String>> requests = new CopyOnWriteArrayList<>();

  FakeServer2012() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    port = server.getLocalPort();
    Thread t = new Thread(this::serve, "test-2012-server");
    t.setDaemon(true);
    t.start();
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        s.setSoTimeout(5000);
        List<String> req = new Wire.Reader(s.getInputStream()).read();
        requests.add(req);
        String cmd = req.size() > 2 ? req.get(2) : "";
        String reply = switch (cmd) {
          case "OC", "CC", "BC" -> "OK\n\n\r\n\r\n";
          case "AT" -> "AT\n" + "ab".repeat(64) + "\n\r\n\r\n";
          default -> "ER\n400\n\r\n\r\n";
        };
        OutputStream out = s.getOutputStream();
        out.write(reply.getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (IOException e) {
        if (server.isClosed()) {
          return;
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
