package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.config.Settings;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;

/** A certificate renewed in place is picked up by all three endpoints without a restart. */
class TlsReloadTest {

  private static void certificate(Path dir, String name) throws Exception {
    Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".crt").toString(),
        "-subj", "/CN=localhost", "-days", "1").redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertEquals(0, p.waitFor(), "openssl");
  }

  /** The serial number of the certificate the server at {@code port} presents. */
  /** {@link #serial}, or null while the port cannot be read (a reload in progress). */
  private static BigInteger serialOrNull(int port) {
    try {
      return serial(port);
    } catch (Exception e) {
      return null;
    }
  }

  private static BigInteger serial(int port) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {new X509TrustManager() {
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      public void checkServerTrusted(X509Certificate[] c, String a) {}

      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  @Test
  void renewedCertificateFilesAreServedOnNewConnections() throws Exception {
    Path dir = Files.createTempDirectory("webrocket-tls");
    certificate(dir, "a");
    certificate(dir, "b");
    Files.copy(dir.resolve("a.crt"), dir.resolve("server.crt"));
    Files.copy(dir.resolve("a.key"), dir.resolve("server.key"));
    JsonObject conf = new JsonObject()
        .put("host", "127.0.0.1")
        .put("storageDir", dir.resolve("data").toString())
        .put("node", new JsonObject().put("name", "tls"))
        .put("websocket", new JsonObject().put("port", TestNode.freePort()))
        .put("backend", new JsonObject().put("port", TestNode.freePort()))
        .put("admin", new JsonObject().put("port", TestNode.freePort()))
        .put("reload", new JsonObject().put("scanPeriodMs", 100))
        .put("tls", new JsonObject().put("cert", dir.resolve("server.crt").toString())
            .put("key", dir.resolve("server.key").toString()));
    Node node = Node.start(Settings.resolve(conf, Map.of(), Map.of(), new JsonObject())).await();
    try {
      node.watch(null, new JsonObject());
      int[] ports = {
        conf.getJsonObject("websocket").getInteger("port"),
        conf.getJsonObject("backend").getInteger("port"),
        conf.getJsonObject("admin").getInteger("port")};
      BigInteger first = serial(ports[0]);
      for (int port : ports) {
        assertEquals(first, serial(port));
      }
      Await.pause(1100); // file times have a coarse grain on some file systems: the change must look newer
      Files.copy(dir.resolve("b.key"), dir.resolve("server.key"), StandardCopyOption.REPLACE_EXISTING);
      Files.copy(dir.resolve("b.crt"), dir.resolve("server.crt"), StandardCopyOption.REPLACE_EXISTING);
      for (int port : ports) {
        Await.until(5_000, "port " + port + " presenting the new certificate", () -> {
          BigInteger now = serialOrNull(port);
          return now != null && !now.equals(first);
        });
        assertNotEquals(first, serial(port));
      }
    } finally {
      node.stop().await();
    }
  }
}
