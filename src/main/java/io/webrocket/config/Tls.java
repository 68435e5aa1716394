package io.webrocket.config;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.TCPSSLOptions;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns the {@code tls} configuration section into server TLS options (PEM certificate and key,
 * protocols, cipher suites, client CA). One meaning everywhere, at start and on reload: an empty
 * or absent {@code clientCa} asks no client certificate; an empty {@code ciphers} list means
 * {@link #DEFAULT_CIPHERS}.
 */
public final class Tls {
  /**
   * Forward-secret AEAD suites only: the TLS 1.3 ones and their ECDHE/DHE TLS 1.2 peers. No
   * static-RSA key exchange (no forward secrecy), no CBC, no SHA-1 MAC (e.g. {@code AES128-SHA}).
   */
  public static final List<String> DEFAULT_CIPHERS = List.of(
      "TLS_AES_128_GCM_SHA256",
      "TLS_AES_256_GCM_SHA384",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384");

  private Tls() {}

  /** Enables TLS on {@code options} when a certificate and key are configured; otherwise leaves it plain. */
  public static void apply(TlsSettings tls, TCPSSLOptions options) {
    if (!tls.enabled()) {
      return;
    }
    options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert()).setKeyPath(tls.key()));
    options.setEnabledSecureTransportProtocols(protocols(tls));
    ciphers(tls).forEach(options::addEnabledCipherSuite);
    if (tls.hasClientCa()) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCa()));
    }
  }

  /** The same certificate, key, protocols, suites and client CA as server SSL options, for a live update. */
  public static io.vertx.core.net.ServerSSLOptions sslOptions(TlsSettings tls, boolean clientAuth) {
    io.vertx.core.net.ServerSSLOptions o = new io.vertx.core.net.ServerSSLOptions()
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert()).setKeyPath(tls.key()));
    o.setEnabledSecureTransportProtocols(protocols(tls));
    ciphers(tls).forEach(o::addEnabledCipherSuite);
    if (clientAuth && tls.hasClientCa()) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCa())).setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    return o;
  }

  /** A Netty server context for the WebSocket endpoint, with the same protocols and suites. */
  public static io.netty.handler.ssl.SslContext nettyServerContext(TlsSettings tls, javax.net.ssl.KeyManagerFactory keys)
      throws javax.net.ssl.SSLException {
    return io.netty.handler.ssl.SslContextBuilder.forServer(keys)
        .protocols(protocols(tls).toArray(new String[0]))
        .ciphers(ciphers(tls))
        .build();
  }

  static Set<String> protocols(TlsSettings tls) {
    return new LinkedHashSet<>(tls.protocols());
  }

  static List<String> ciphers(TlsSettings tls) {
    return tls.ciphers().isEmpty() ? DEFAULT_CIPHERS : tls.ciphers();
  }

  /**
   * Last-modified times of the TLS files, to notice a renewed certificate written in place. Reads
   * the file system: call it off the event loop.
   */
  public static String fingerprint(TlsSettings tls) {
    StringBuilder b = new StringBuilder();
    for (String path : java.util.Arrays.asList(tls.cert(), tls.key(), tls.clientCa())) {
      if (path != null) {
        try {
          b.append(path).append('@').append(java.nio.file.Files.getLastModifiedTime(java.nio.file.Path.of(path)).toMillis());
        } catch (java.io.IOException e) {
          b.append(path).append("@missing");
        }
      }
      b.append(';');
    }
    return b.toString();
  }

  /** For a raw {@code tls} section (the cluster's event-bus options are built from JSON at start). */
  public static boolean enabled(JsonObject tls) {
    return tls != null && tls.getString("cert") != null && tls.getString("key") != null;
  }
}
