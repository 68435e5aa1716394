package io.webrocket.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * The {@code tls} section: PEM files for all three endpoints (see {@link Tls} for what they
 * become). Turning TLS on or off takes a restart; new files (or renewed ones written in place)
 * apply live.
 *
 * @param cert PEM certificate, or null: plain endpoints
 * @param key PEM key, with {@code cert}
 * @param clientCa PEM CA that backend clients' certificates must chain to, or null (none; {@code ""} is none)
 * @param protocols TLS versions, at least one of TLSv1.2 and TLSv1.3
 * @param ciphers IANA suite names; empty: {@link Tls#DEFAULT_CIPHERS}
 */
public record TlsSettings(String cert, String key, String clientCa, List<String> protocols, List<String> ciphers) {
  private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  public TlsSettings {
    protocols = List.copyOf(protocols);
    ciphers = List.copyOf(ciphers);
  }

  /** A {@code tls} section on its own, as a TLS reload message carries it. */
  public static TlsSettings of(JsonObject tls) {
    return parse(Section.of(tls, "tls"));
  }

  static TlsSettings parse(Section s) {
    String cert = s.file("cert", false);
    String key = s.file("key", false);
    if ((cert == null) != (key == null)) {
      throw new Settings.InvalidException("tls", "cert and key go together");
    }
    String clientCa = s.file("clientCa", true);
    if (!(s.value("protocols") instanceof JsonArray protocols) || protocols.isEmpty()) {
      throw new Settings.InvalidException("tls.protocols", "must be a non-empty list of TLSv1.2 and/or TLSv1.3");
    }
    for (Object p : protocols) {
      if (!KNOWN_PROTOCOLS.contains(p)) {
        throw new Settings.InvalidException("tls.protocols", "must be TLSv1.2 and/or TLSv1.3, got " + p);
      }
    }
    if (!(s.value("ciphers") instanceof JsonArray ciphers)) {
      throw new Settings.InvalidException("tls.ciphers", "must be a list of cipher suite names ([] for the secure defaults)");
    }
    for (Object c : ciphers) {
      if (!(c instanceof String name) || !name.matches("TLS_[A-Z0-9_]+")) {
        throw new Settings.InvalidException("tls.ciphers", "must be IANA cipher suite names like TLS_AES_128_GCM_SHA256, got " + c);
      }
    }
    return new TlsSettings(cert, key, clientCa, Section.strings(protocols), Section.strings(ciphers));
  }

  /** A certificate and key are configured: the endpoints speak TLS. */
  public boolean enabled() {
    return cert != null && key != null;
  }

  /** Backend clients must present a certificate {@code clientCa} signed. */
  public boolean hasClientCa() {
    return clientCa != null && !clientCa.isBlank();
  }
}
