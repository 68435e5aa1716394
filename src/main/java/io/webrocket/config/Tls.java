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

  public static boolean enabled(JsonObject tls) {
    return tls != null && tls.getString("cert") != null && tls.getString("key") != null;
  }
}
