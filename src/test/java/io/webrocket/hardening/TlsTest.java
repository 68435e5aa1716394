package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import io.webrocket.test.Await;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS on all three endpoints with a certificate made at test time by the {@code openssl} CLI:
 * {@code wss://} (Vert.x client trusting that certificate), {@code wrs://} (an SSLSocket with a
 * trust store built from the PEM), {@code https://} admin, and client certificates on the
 * backend endpoint ({@code tls.clientCa}).
 */
class TlsTest {
  static Path dir;
  /** TLS on every endpoint. */
  static TestNode tls;
  /** TLS, and backend clients must show a certificate signed by the test CA. */
  static TestNode mutual;
  static SSLContext trusting;
  static SSLContext trustingWithClientCert;
  static SSLContext trustingWithForeignCert;
  static WebSocketClient wss;

  @BeforeAll
  static void certificatesAndNodes() throws Exception {
    dir = Files.createTempDirectory("webrocket-tls");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-subj", "/CN=localhost", "-days", "1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=WebRocket test CA", "-days", "1");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
        "-subj", "/CN=backend");
    openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1",
        "-days", "1", "-out", "client.pem");

    JsonObject files = new JsonObject()
        .put("cert", dir.resolve("cert.pem").toString())
        .put("key", dir.resolve("key.pem").toString());
    tls = TestNode.start(new JsonObject().put("tls", files.copy()));
    mutual = TestNode.start(new JsonObject().put("tls", files.copy().put("clientCa", dir.resolve("ca.pem").toString())));

    trusting = context(null, null);
    trustingWithClientCert = context("client.pem", "client.key");
    // Valid, but not signed by the CA the node trusts.
    trustingWithForeignCert = context("cert.pem", "key.pem");
    wss = WsClient.vertx().createWebSocketClient(new WebSocketClientOptions()
        .setSsl(true)
        .setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(dir.resolve("cert.pem").toString())));
  }

  @AfterAll
  static void stopNodes() throws IOException {
    if (wss != null) {
      WsClient.await(wss.close());
    }
    if (tls != null) {
      tls.close();
    }
    if (mutual != null) {
      mutual.close();
    }
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(dir);
  }

  /** Whatever a test did, a fresh wss:// browser and wrs:// backend are served on both nodes. */
  @AfterEach
  void freshTlsClientsAreServed() throws Exception {
    browserGetsABackendBroadcast(tls, trusting);
    browserGetsABackendBroadcast(mutual, trustingWithClientCert);
  }

  static void openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "openssl " + args[0] + " finished");
    assertEquals(0, p.exitValue(), "openssl " + String.join(" ", args) + ": " + out);
  }

  /** Trusts the node's certificate; presents {@code certFile} + {@code keyFile} (PEM) if given. */
  static SSLContext context(String certFile, String keyFile) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("node", certificates("cert.pem")[0]);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = null;
    if (certFile != null) {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      char[] password = "test".toCharArray();
      keys.setKeyEntry("client", privateKey(keyFile), password, certificates(certFile));
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, password);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  static Certificate[] certificates(String file) throws Exception {
    try (InputStream in = Files.newInputStream(dir.resolve(file))) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(new Certificate[0]);
    }
  }

  /** An unencrypted PKCS#8 PEM key, as {@code openssl req -nodes} writes it. */
  static PrivateKey privateKey(String file) throws Exception {
    String pem = Files.readString(dir.resolve(file));
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
  }

  /** A wrs:// connection: TLS with the host name checked against the certificate. */
  static WbpClient wrs(TestNode node, SSLContext ctx) throws IOException {
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
    SSLParameters params = s.getSSLParameters();
    params.setEndpointIdentificationAlgorithm("HTTPS");
    s.setSSLParameters(params);
    s.connect(new InetSocketAddress("127.0.0.1", node.backendPort), 5_000);
    s.setSoTimeout(5_000);
    s.startHandshake();
    return WbpClient.over(s);
  }

  /** True if a KA request over wrs:// with {@code ctx} is answered OK; false if refused anywhere. */
  static boolean backendServed(TestNode node, SSLContext ctx, String id) {
    try (WbpClient c = wrs(node, ctx)) {
      return c.request(id, "KA").equals(Served.OK);
    } catch (IOException | RuntimeException | AssertionError refused) {
      return false;
    }
  }

  /** A wss:// browser; its messages go to {@code inbox}. */
  static ClientWebSocket wssBrowser(TestNode node, String vhost, LinkedBlockingQueue<String> inbox) {
    ClientWebSocket ws = wss.webSocket();
    ws.textMessageHandler(inbox::add);
    WsClient.await(ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(node.wsPort).setURI(vhost)));
    return ws;
  }

  static JsonObject next(LinkedBlockingQueue<String> inbox) throws InterruptedException {
    String s = inbox.poll(5, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("no message within 5 s");
    }
    return new JsonObject(s);
  }

  static int vhosts;

  /** On a new vhost: a wrs:// backend opens a channel, a wss:// browser subscribes and gets a broadcast. */
  static void browserGetsABackendBroadcast(TestNode node, SSLContext backendCtx) throws Exception {
    String vhost = "/tls" + (++vhosts);
    String token = https(node, "POST", vhost, node.cookie()).statusCode() == 302
        ? new JsonObject(https(node, "GET", vhost, node.cookie()).body()).getJsonObject("vhost").getString("accessToken")
        : null;
    assertTrue(token != null, "vhost created over https");
    try (WbpClient backend = wrs(node, backendCtx)) {
      assertEquals(Served.OK, backend.request(WbpClient.identity("req", vhost, token), "KA"));
      assertEquals(Served.OK, backend.request(null, "OC", "news"));
      LinkedBlockingQueue<String> inbox = new LinkedBlockingQueue<>();
      ClientWebSocket browser = wssBrowser(node, vhost, inbox);
      try {
        assertTrue(next(inbox).containsKey(":connected"));
        WsClient.await(browser.writeTextMessage("{\"subscribe\":{\"channel\":\"news\"}}"));
        assertTrue(next(inbox).containsKey(":subscribed"));
        assertEquals(Served.OK, backend.request(null, "BC", "news", "hello", "{\"over\":\"tls\"}"));
        assertEquals(new JsonObject().put("hello", new JsonObject().put("over", "tls").put("channel", "news")), next(inbox));
        List<String> at = backend.request(null, "AT", "alice", ".*");
        assertEquals("AT", at.get(0));
        WsClient.await(browser.writeTextMessage(new JsonObject().put("auth", new JsonObject().put("token", at.get(1))).encode()));
        assertTrue(next(inbox).containsKey(":authenticated"));
      } finally {
        WsClient.await(browser.close());
      }
    }
  }

  static HttpResponse<String> https(TestNode node, String method, String path, String cookie) throws Exception {
    HttpClient client = HttpClient.newBuilder().sslContext(trusting).connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + node.adminPort + path))
        .timeout(Duration.ofSeconds(10))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (cookie != null) {
      b.header("X-WebRocket-Cookie", cookie);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void wssBrowsersAndWrsBackendsTalkOverTls() throws Exception {
    browserGetsABackendBroadcast(tls, trusting);
    // Refusals travel over TLS too.
    try (WbpClient c = wrs(tls, trusting)) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", "/nowhere", "0".repeat(40)), "KA"));
    }
  }

  @Test
  void theAdminEndpointSpeaksHttps() throws Exception {
    HttpResponse<String> list = https(tls, "GET", "/", tls.cookie());
    assertEquals(200, list.statusCode());
    assertTrue(new JsonObject(list.body()).containsKey("vhosts"));
    assertEquals(403, https(tls, "GET", "/", null).statusCode());
    assertEquals(200, https(tls, "GET", "/health", null).statusCode());
    assertTrue(https(tls, "GET", "/metrics", null).body().contains("webrocket_"));
  }

  @Test
  void plainClientsAreNotServedOnTlsPorts() throws Exception {
    // Plain HTTP to the admin port: no answer the client can read.
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    assertThrows(IOException.class, () -> plain.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + tls.adminPort + "/health")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()));
    // Plain ws:// to the WebSocket port: no upgrade.
    assertThrows(Throwable.class, () -> WsClient.connect(tls.wsPort, "/tls1"));
    // Plain WBP to the backend port: never an OK.
    try (WbpClient c = WbpClient.connect(tls.backendPort)) {
      c.setTimeout(2_000);
      c.write(WbpClient.message(WbpClient.identity("req", "/x", "0".repeat(40)), "KA"));
      String got = c.readToEnd();
      assertFalse(got.startsWith("OK") || got.startsWith("ER"), "a WBP answer in the clear: " + got);
    } catch (AssertionError timeoutIsFine) {
      // nothing came back at all
    }
    // And a client that does not trust the certificate refuses the node.
    SSLContext untrusting = SSLContext.getInstance("TLS");
    untrusting.init(null, null, null); // the JDK's default CAs, which never signed the test certificate
    assertThrows(IOException.class, () -> wrs(tls, untrusting).close());
  }

  @Test
  void backendClientsNeedACertificateSignedByTheClientCa() throws Exception {
    String token = createVhost(mutual, "/mutual");
    String id = WbpClient.identity("req", "/mutual", token);
    assertFalse(backendServed(mutual, trusting, id), "no client certificate: refused");
    assertFalse(backendServed(mutual, trustingWithForeignCert, id), "a certificate from another CA: refused");
    assertTrue(backendServed(mutual, trustingWithClientCert, id), "a certificate the CA signed: served");
    // The other endpoints ask for no client certificate.
    LinkedBlockingQueue<String> inbox = new LinkedBlockingQueue<>();
    ClientWebSocket browser = wssBrowser(mutual, "/mutual", inbox);
    try {
      assertTrue(next(inbox).containsKey(":connected"));
    } finally {
      WsClient.await(browser.close());
    }
    assertEquals(200, https(mutual, "GET", "/", mutual.cookie()).statusCode());
  }

  /** What {@code openssl s_client} says of a TLS 1.2 handshake with the backend port offering only {@code cipher}. */
  static String handshakeOffering(TestNode node, String cipher) throws Exception {
    Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + node.backendPort, "-tls1_2",
        "-cipher", cipher + ":@SECLEVEL=0", "-servername", "localhost")
        .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return out;
  }

  @Test
  void staticRsaCbcSha1SuitesAreRefusedAndForwardSecretAeadOnesServed() throws Exception {
    String weak = handshakeOffering(tls, "AES128-SHA");
    assertFalse(weak.matches("(?s).*Cipher( is|\\s+:)\\s*AES128-SHA.*"), "AES128-SHA accepted:\n" + weak);
    String strong = handshakeOffering(tls, "ECDHE-RSA-AES128-GCM-SHA256");
    assertTrue(strong.matches("(?s).*Cipher( is|\\s+:)\\s*ECDHE-RSA-AES128-GCM-SHA256.*"), strong);
  }

  @Test
  void anEmptyClientCaAsksNoCertificateAtStartAndOnReload() throws Exception {
    JsonObject section = new JsonObject()
        .put("cert", dir.resolve("cert.pem").toString())
        .put("key", dir.resolve("key.pem").toString())
        .put("clientCa", "");
    try (TestNode n = TestNode.start(new JsonObject().put("tls", section.copy()))) {
      String token = createVhost(n, "/noca");
      String id = WbpClient.identity("req", "/noca", token);
      assertTrue(backendServed(n, trusting, id), "at start: no client certificate needed");
      // A reload with the same section, as the Reloader publishes it.
      n.node.vertx().eventBus().publish(io.webrocket.bus.Addresses.tls(), section.copy()
          .put("protocols", new io.vertx.core.json.JsonArray().add("TLSv1.2").add("TLSv1.3"))
          .put("ciphers", new io.vertx.core.json.JsonArray()));
      Await.pause(500); // the reload has no reply to wait for; then the same section must still serve
      assertTrue(backendServed(n, trusting, id), "after a reload: no client certificate needed");
      assertTrue(backendServed(n, trustingWithClientCert, id));
    }
  }

  static String createVhost(TestNode node, String vhost) throws Exception {
    assertEquals(302, https(node, "POST", vhost, node.cookie()).statusCode());
    return new JsonObject(https(node, "GET", vhost, node.cookie()).body()).getJsonObject("vhost").getString("accessToken");
  }
}
