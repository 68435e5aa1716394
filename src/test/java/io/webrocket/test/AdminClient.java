package io.webrocket.test;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A plain HTTP client for the admin API (WARI), with the node's cookie. */
public final class AdminClient {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  private final int port;
  private final String cookie;

  public AdminClient(int port, String cookie) {
    this.port = port;
    this.cookie = cookie;
  }

  public HttpResponse<String> call(String method, String path) {
    return call(method, path, cookie);
  }

  /** {@code cookie} null sends no cookie header. */
  public HttpResponse<String> call(String method, String path, String cookie) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(15))
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (cookie != null) {
      b.header("X-WebRocket-Cookie", cookie);
    }
    try {
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(method + " " + path + ": " + e, e);
    }
  }

  /** {@code method path} with {@code body} (JSON text) and the node's cookie. */
  public HttpResponse<String> send(String method, String path, String body) {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(15))
        .header("X-WebRocket-Cookie", cookie)
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(body))
        .build();
    try {
      return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(method + " " + path + ": " + e, e);
    }
  }

  public JsonObject json(String path) {
    HttpResponse<String> r = call("GET", path);
    if (r.statusCode() != 200) {
      throw new IllegalStateException("GET " + path + " -> " + r.statusCode() + " " + r.body());
    }
    return new JsonObject(r.body());
  }

  public String createVhost(String path) {
    HttpResponse<String> r = call("POST", path);
    if (r.statusCode() != 302) {
      throw new IllegalStateException("POST " + path + " -> " + r.statusCode() + " " + r.body());
    }
    return token(path);
  }

  public String token(String path) {
    return json(path).getJsonObject("vhost").getString("accessToken");
  }

  public void openChannel(String vhost, String channel) {
    HttpResponse<String> r = call("POST", vhost + "/channels/" + channel);
    if (r.statusCode() != 302) {
      throw new IllegalStateException("POST channel -> " + r.statusCode() + " " + r.body());
    }
  }
}
