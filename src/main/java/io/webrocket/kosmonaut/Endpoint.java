package io.webrocket.kosmonaut;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A broker endpoint as named by {@code wr://TOKEN@HOST:PORT/VHOST} ({@code wrs://} for TLS), and
 * the one place sockets to it are made.
 */
final class Endpoint {
  static final int DEFAULT_PORT = 8081;
  private static final Pattern VHOST = Pattern.compile("^/[\\w\\-]+(/[\\w\\-]+)*$");

  final String host;
  final int port;
  final String vhost;
  final String token;
  final boolean tls;
  private final SSLContext sslContext;

  private Endpoint(String host, int port, String vhost, String token, boolean tls, SSLContext sslContext) {
    this.host = host;
    this.port = port;
    this.vhost = vhost;
    this.token = token;
    this.tls = tls;
    this.sslContext = sslContext;
  }

  /** Parses {@code url}; {@code sslContext} (null: the JDK's default) is used for {@code wrs://}. */
  static Endpoint parse(String url, SSLContext sslContext) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a wr:// URL: " + redact(url), e);
    }
    String scheme = uri.getScheme();
    if (!"wr".equals(scheme) && !"wrs".equals(scheme)) {
      throw new IllegalArgumentException("the URL must start with wr:// or wrs://: " + redact(url));
    }
    String token = uri.getUserInfo();
    if (token == null || token.isEmpty()) {
      throw new IllegalArgumentException("the URL has no access token (wr://TOKEN@HOST:PORT/VHOST): " + redact(url));
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("the URL has no host: " + redact(url));
    }
    String vhost = uri.getPath();
    if (vhost == null || !VHOST.matcher(vhost).matches()) {
      throw new IllegalArgumentException("the URL's path must be a vhost such as /demo: " + redact(url));
    }
    try {
      SSLContext ctx = sslContext != null ? sslContext : SSLContext.getDefault();
      return new Endpoint(uri.getHost(), uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort(), vhost, token,
          "wrs".equals(scheme), ctx);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("no TLS in this JDK", e);
    }
  }

  /** The URL without its token, for messages and logs. */
  static String redact(String url) {
    return url == null ? "null" : url.replaceFirst("//[^@/]*@", "//…@");
  }

  @Override
  public String toString() {
    return (tls ? "wrs://" : "wr://") + host + ":" + port + vhost;
  }

  /** A fresh identity line for one connection: {@code TYPE:VHOST:TOKEN:UUID}. */
  String identity(String type) {
    return type + ":" + vhost + ":" + token + ":" + UUID.randomUUID();
  }

  /**
   * A connected socket (with the TLS handshake done, the host name checked against the
   * certificate), its read timeout set to {@code timeoutMs} for what follows.
   */
  Socket connect(int timeoutMs) throws IOException {
    Socket plain = new Socket();
    try {
      plain.setTcpNoDelay(true);
      plain.setKeepAlive(true);
      plain.connect(new InetSocketAddress(host, port), timeoutMs);
      plain.setSoTimeout(timeoutMs);
      if (!tls) {
        return plain;
      }
      SSLSocket s = (SSLSocket) sslContext.getSocketFactory().createSocket(plain, host, port, true);
      SSLParameters params = s.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(params);
      s.startHandshake();
      return s;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }
}
