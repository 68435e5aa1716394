package io.webrocket.config;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.TCPSSLOptions;

/** Turns the {@code tls} configuration section into server TLS options (PEM certificate and key). */
public final class Tls {
  private Tls() {}

  /** Enables TLS on {@code options} when a certificate and key are configured; otherwise leaves it plain. */
  public static void apply(JsonObject tls, TCPSSLOptions options) {
    if (!enabled(tls)) {
      return;
    }
    options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.getString("cert")).setKeyPath(tls.getString("key")));
    String clientCa = tls.getString("clientCa");
    if (clientCa != null && !clientCa.isEmpty()) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(clientCa));
    }
  }

  /** The same certificate, key and client CA as server SSL options, for a live update. */
  public static io.vertx.core.net.ServerSSLOptions sslOptions(JsonObject tls, boolean clientAuth) {
    io.vertx.core.net.ServerSSLOptions o = new io.vertx.core.net.ServerSSLOptions()
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.getString("cert")).setKeyPath(tls.getString("key")));
    String clientCa = tls.getString("clientCa");
    if (clientAuth && clientCa != null && !clientCa.isEmpty()) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(clientCa)).setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    return o;
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
