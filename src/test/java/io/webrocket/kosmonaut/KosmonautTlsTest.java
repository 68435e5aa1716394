package io.webrocket.kosmonaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code wrs://}: the client and the worker over TLS, with a certificate made by {@code openssl} for the test. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KosmonautTlsTest {
  static Path dir;
  static TestNode node;
  static SSLContext trusting;
  static String url;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("kosmonaut-tls");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-subj", "/CN=localhost", "-days", "1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    node = TestNode.start(new JsonObject().put("tls", new JsonObject()
        .put("cert", dir.resolve("cert.pem").toString()).put("key", dir.resolve("key.pem").toString())));
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(dir.resolve("cert.pem"))) {
      trust.setCertificateEntry("node", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    trusting = SSLContext.getInstance("TLS");
    trusting.init(null, tmf.getTrustManagers(), null);
    String token = createVhost("/secure");
    url = "wrs://" + token + "@127.0.0.1:" + node.backendPort + "/secure";
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** The admin API is on https:// too. */
  static String createVhost(String vhost) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().sslContext(trusting).build();
    java.util.function.Function<String, java.net.http.HttpRequest> req = m -> java.net.http.HttpRequest
        .newBuilder(java.net.URI.create("https://127.0.0.1:" + node.adminPort + vhost))
        .header("X-WebRocket-Cookie", node.cookie()).timeout(Duration.ofSeconds(10))
        .method(m, java.net.http.HttpRequest.BodyPublishers.noBody()).build();
    assertEquals(302, http.send(req.apply("POST"), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
    String body = http.send(req.apply("GET"), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    return new JsonObject(body).getJsonObject("vhost").getString("accessToken");
  }

  static void openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
  }

  @Test
  void clientCallsWorkOverTls() {
    try (Client client = Client.builder(url).sslContext(trusting).build()) {
      client.openChannel("chat");
      client.broadcast("chat", "e", Map.of("a", 1));
      assertEquals(128, client.requestSingleAccessToken("alice", ".*").length());
      KosmonautException e = KosmonautClientTest.assertCode(454, ChannelNotFoundException.class,
          () -> client.closeChannel("nope"));
      assertTrue(e.getMessage().contains("CC nope"), e.getMessage());
    }
  }

  @Test
  void theJdkTrustStoreRefusesASelfSignedCertificateAt598() {
    try (Client client = Client.builder(url).connectTimeout(Duration.ofSeconds(3)).build()) {
      KosmonautException e = KosmonautClientTest.assertCode(598, ConnectionException.class, () -> client.openChannel("x"));
      assertTrue(e.getMessage().contains("TLS"), e.getMessage());
    }
  }

  @Test
  void plainWrToATlsPortFailsInsteadOfHanging() {
    try (Client client = Client.builder(url.replace("wrs://", "wr://")).connectTimeout(Duration.ofSeconds(2))
        .requestTimeout(Duration.ofSeconds(3)).build()) {
      KosmonautException e = org.junit.jupiter.api.Assertions.assertThrows(KosmonautException.class, () -> client.openChannel("x"));
      assertTrue(e.code() == 598 || e.code() == 408, e.getMessage());
    }
  }

  @Test
  void aWorkerReceivesTriggersOverTls() throws Exception {
    LinkedBlockingQueue<Trigger> got = new LinkedBlockingQueue<>();
    try (Worker w = Worker.builder(url).sslContext(trusting).build().on("e", got::add);
        Client client = Client.builder(url).sslContext(trusting).build()) {
      w.start();
      assertTrue(w.awaitConnected(Duration.ofSeconds(10)));
      // A browser over wss:// would need the same trust; the trigger path is the same as plain.
      io.vertx.core.http.WebSocketClient wss = io.webrocket.test.WsClient.vertx().createWebSocketClient(
          new io.vertx.core.http.WebSocketClientOptions().setSsl(true)
              .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(dir.resolve("cert.pem").toString())));
      LinkedBlockingQueue<String> inbox = new LinkedBlockingQueue<>();
      io.vertx.core.http.ClientWebSocket ws = wss.webSocket();
      ws.textMessageHandler(inbox::add);
      io.webrocket.test.WsClient.await(ws.connect(new io.vertx.core.http.WebSocketConnectOptions()
          .setHost("127.0.0.1").setPort(node.wsPort).setURI("/secure").setSsl(true)));
      inbox.poll(5, TimeUnit.SECONDS); // :connected
      ws.writeTextMessage(new JsonObject().put("auth", new JsonObject()
          .put("token", client.requestSingleAccessToken("alice", ".*"))).encode());
      inbox.poll(5, TimeUnit.SECONDS); // :authenticated
      ws.writeTextMessage("{\"trigger\":{\"event\":\"e\",\"data\":{\"n\":1}}}");
      Trigger t = got.poll(5, TimeUnit.SECONDS);
      assertEquals(1, t.data().get("n"));
      ws.close();
    }
  }
}
