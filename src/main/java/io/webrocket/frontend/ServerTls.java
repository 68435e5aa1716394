package io.webrocket.frontend;

import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.PemKeyCertOptions;
import io.webrocket.config.Tls;
import io.webrocket.config.TlsSettings;

/**
 * The TLS context new WebSocket connections get (null: plain), replaced when the certificate is
 * renewed; connections already open keep theirs.
 */
final class ServerTls {
  private final Vertx vertx;
  /** Written and read on the endpoint instance's event loop. */
  private SslContext current;

  ServerTls(Vertx vertx) {
    this.vertx = vertx;
  }

  /** The context for the next connection, or null for plain WebSocket. */
  SslContext current() {
    return current;
  }

  /** Loads the {@code tls} section's certificate if TLS is enabled there; plain otherwise. */
  Future<Void> start(TlsSettings tls) {
    return (tls.enabled() ? load(tls) : Future.<SslContext>succeededFuture(null)).onSuccess(c -> current = c).mapEmpty();
  }

  /** Loads a renewed certificate; the previous one stays if that fails. */
  Future<Void> reload(TlsSettings tls) {
    return load(tls).onSuccess(c -> current = c).mapEmpty();
  }

  /** Reads the PEM certificate and key (files: off the event loop) into a server TLS context. */
  private Future<SslContext> load(TlsSettings tls) {
    return vertx.executeBlocking(() -> Tls.nettyServerContext(tls, new PemKeyCertOptions()
        .setCertPath(tls.cert()).setKeyPath(tls.key()).getKeyManagerFactory(vertx)));
  }
}
