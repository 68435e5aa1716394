package io.webrocket.config;

import io.vertx.core.json.JsonArray;
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

  private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  private Tls() {}

  /** Enables TLS on {@code options} when a certificate and key are configured; otherwise leaves it plain. */
  public static void apply(JsonObject tls, TCPSSLOptions options) {
    if (!enabled(tls)) {
      return;
    }
    options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.getString("cert")).setKeyPath(tls.getString("key")));
    options.setEnabledSecureTransportProtocols(protocols(tls));
    ciphers(tls).forEach(options::addEnabledCipherSuite);
    if (hasClientCa(tls)) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(tls.getString("clientCa")));
    }
  }

  /** The same certificate, key, protocols, suites and client CA as server SSL options, for a live update. */
  public static io.vertx.core.net.ServerSSLOptions sslOptions(JsonObject tls, boolean clientAuth) {
    io.vertx.core.net.ServerSSLOptions o = new io.vertx.core.net.ServerSSLOptions()
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.getString("cert")).setKeyPath(tls.getString("key")));
    o.setEnabledSecureTransportProtocols(protocols(tls));
    ciphers(tls).forEach(o::addEnabledCipherSuite);
    if (clientAuth && hasClientCa(tls)) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(tls.getString("clientCa"))).setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    return o;
  }

  /** A Netty server context for the WebSocket endpoint, with the same protocols and suites. */
  public static io.netty.handler.ssl.SslContext nettyServerContext(JsonObject tls, javax.net.ssl.KeyManagerFactory keys)
      throws javax.net.ssl.SSLException {
    return io.netty.handler.ssl.SslContextBuilder.forServer(keys)
        .protocols(protocols(tls).toArray(new String[0]))
        .ciphers(ciphers(tls))
        .build();
  }

  /** A client CA is configured: backend clients must present a certificate it signed. {@code ""} is none. */
  public static boolean hasClientCa(JsonObject tls) {
    String clientCa = tls == null ? null : tls.getString("clientCa");
    return clientCa != null && !clientCa.isBlank();
  }

  static Set<String> protocols(JsonObject tls) {
    JsonArray list = tls.getJsonArray("protocols");
    Set<String> out = new LinkedHashSet<>();
    if (list != null) {
      list.forEach(p -> out.add((String) p));
    }
    return out.isEmpty() ? new LinkedHashSet<>(KNOWN_PROTOCOLS) : out;
  }

  static List<String> ciphers(JsonObject tls) {
    JsonArray list = tls.getJsonArray("ciphers");
    if (list == null || list.isEmpty()) {
      return DEFAULT_CIPHERS;
    }
    return list.stream().map(String.class::cast).toList();
  }

  /** Checks {@code tls.protocols} and {@code tls.ciphers}; {@code clientCa: ""} becomes null (no client certificate). */
  static void validate(JsonObject tls) {
    if (tls.getValue("clientCa") instanceof String ca && ca.isBlank()) {
      tls.putNull("clientCa");
    }
    if (!(tls.getValue("protocols") instanceof JsonArray protocols) || protocols.isEmpty()) {
      throw new Settings.InvalidException("tls.protocols", "must be a non-empty list of TLSv1.2 and/or TLSv1.3");
    }
    for (Object p : protocols) {
      if (!KNOWN_PROTOCOLS.contains(p)) {
        throw new Settings.InvalidException("tls.protocols", "must be TLSv1.2 and/or TLSv1.3, got " + p);
      }
    }
    if (!(tls.getValue("ciphers") instanceof JsonArray ciphers)) {
      throw new Settings.InvalidException("tls.ciphers", "must be a list of cipher suite names ([] for the secure defaults)");
    }
    for (Object c : ciphers) {
      if (!(c instanceof String s) || !s.matches("TLS_[A-Z0-9_]+")) {
        throw new Settings.InvalidException("tls.ciphers", "must be IANA cipher suite names like TLS_AES_128_GCM_SHA256, got " + c);
      }
    }
  }

  /** Last-modified times of the TLS files, to notice a renewed certificate written in place. */
  public static String fingerprint(JsonObject tls) {
    StringBuilder b = new StringBuilder();
    for (String k : new String[] {"cert", "key", "clientCa"}) {
      String path = tls.getString(k);
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

  public static boolean enabled(JsonObject tls) {
    return tls != null && tls.getString("cert") != null && tls.getString("key") != null;
  }
}
