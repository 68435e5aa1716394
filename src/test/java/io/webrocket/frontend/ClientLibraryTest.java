package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.Await;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The browser client served on the WebSocket port's HTTP phase ({@link ClientLibrary}). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientLibraryTest {
  private static TestNode node;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static byte[] source;

  @BeforeAll
  static void start() throws IOException {
    // A long handshake timeout: a close seen here is the bound's, not the idle timeout's.
    node = TestNode.start(new JsonObject().put("websocket", new JsonObject().put("handshakeTimeoutMs", 60_000)));
    try (InputStream in = ClientLibraryTest.class.getClassLoader().getResourceAsStream("webroot/webrocket.js")) {
      source = in.readAllBytes();
    }
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    return send("GET", path, headers);
  }

  private static HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.wsPort + path))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void scriptIsServedWithTypeCachingHeadersAndCors() throws Exception {
    HttpResponse<byte[]> r = get("/webrocket.js");
    assertEquals(200, r.statusCode());
    assertEquals("text/javascript; charset=utf-8", r.headers().firstValue("content-type").orElse(null));
    assertEquals("public, max-age=300", r.headers().firstValue("cache-control").orElse(null));
    assertTrue(r.headers().firstValue("etag").orElse("").matches("\"[0-9a-f]{24}\""), r.headers().toString());
    assertEquals("*", r.headers().firstValue("access-control-allow-origin").orElse(null));
    assertEquals("nosniff", r.headers().firstValue("x-content-type-options").orElse(null));
    assertArrayEquals(source, r.body());
    assertEquals(200, get("/webrocket.js?v=1.0.0").statusCode(), "a query string names the same file");
  }

  @Test
  void matchingEtagIsAnswered304WithoutBody() throws Exception {
    String etag = get("/webrocket.js").headers().firstValue("etag").orElseThrow();
    HttpResponse<byte[]> r = get("/webrocket.js", "If-None-Match", etag);
    assertEquals(304, r.statusCode());
    assertEquals(0, r.body().length);
    assertEquals(etag, r.headers().firstValue("etag").orElse(null));
    assertEquals(200, get("/webrocket.js", "If-None-Match", "\"other\"").statusCode());
  }

  @Test
  void gzipWhenAccepted() throws Exception {
    HttpResponse<byte[]> r = get("/webrocket.js", "Accept-Encoding", "gzip, deflate");
    assertEquals("gzip", r.headers().firstValue("content-encoding").orElse(null));
    assertEquals("Accept-Encoding", r.headers().firstValue("vary").orElse(null));
    assertArrayEquals(source, new GZIPInputStream(new ByteArrayInputStream(r.body())).readAllBytes());
    assertTrue(r.body().length < source.length / 2, "compressed: " + r.body().length);
    String etag = r.headers().firstValue("etag").orElseThrow();
    assertTrue(etag.endsWith("-gz\""), etag);
    assertEquals(304, get("/webrocket.js", "Accept-Encoding", "gzip", "If-None-Match", etag).statusCode());
    assertNull(get("/webrocket.js", "Accept-Encoding", "gzip;q=0").headers().firstValue("content-encoding").orElse(null));
  }

  @Test
  void esModuleIsTheScriptWithItsExport() throws Exception {
    HttpResponse<byte[]> r = get("/webrocket.mjs");
    assertEquals(200, r.statusCode());
    assertEquals("text/javascript; charset=utf-8", r.headers().firstValue("content-type").orElse(null));
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertEquals(new String(source, StandardCharsets.UTF_8) + "export default WebRocket;\nexport { WebRocket };\n", body);
    HttpResponse<byte[]> types = get("/webrocket.d.ts");
    assertEquals(200, types.statusCode());
    assertEquals("application/typescript; charset=utf-8", types.headers().firstValue("content-type").orElse(null));
    assertTrue(new String(types.body(), StandardCharsets.UTF_8).contains("export declare class WebRocket"));
  }

  @Test
  void headHasTheHeadersAndNoBodyOtherMethodsAre405() throws Exception {
    HttpResponse<byte[]> head = send("HEAD", "/webrocket.js");
    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(source.length), head.headers().firstValue("content-length").orElse(null));
    assertEquals(0, head.body().length);
    HttpResponse<byte[]> post = send("POST", "/webrocket.js");
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("allow").orElse(null));
  }

  @Test
  void otherPathsStillGetTheNotAWebSocket404() throws Exception {
    HttpResponse<byte[]> r = get("/webrocket.jsx");
    assertEquals(404, r.statusCode());
    assertEquals("WebRocket: open a WebSocket on /VHOST\n", new String(r.body(), StandardCharsets.UTF_8));
  }

  /**
   * A client that pipelines requests without reading the answers gets one answer and a close:
   * the broker never holds an answer per request. Others are served meanwhile.
   */
  @Test
  void pipelinedRequestsGetOneAnswerThenTheConnectionCloses() throws Exception {
    byte[] one = "GET /webrocket.js HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (int i = 0; i < 1000; i++) {
      all.write(one);
    }
    try (Socket s = new Socket()) {
      // A small window: the first answer cannot leave at once, so the next requests arrive while it waits.
      s.setReceiveBufferSize(2048);
      s.connect(new java.net.InetSocketAddress("127.0.0.1", node.wsPort));
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(all.toByteArray());
      } catch (IOException closedMeanwhile) {
        // the answer and the close may come before every request is written
      }
      Await.pause(500); // pacing: not reading meanwhile
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      try {
        s.getInputStream().transferTo(got);
      } catch (IOException reset) {
        // closed with requests unread: a reset ends it too
      }
      String text = got.toString(StandardCharsets.ISO_8859_1);
      assertEquals(1, text.split("HTTP/1.1 200 OK", -1).length - 1, "answers");
      assertTrue(text.toLowerCase(java.util.Locale.ROOT).contains("connection: close"));
    }
    assertEquals(200, get("/webrocket.js").statusCode());
  }
}
