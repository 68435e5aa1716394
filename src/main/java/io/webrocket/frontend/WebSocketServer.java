package io.webrocket.frontend;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.webrocket.vertx.LoopContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.function.Supplier;

/**
 * The listening socket of one endpoint instance, on Netty directly rather than Vert.x's
 * {@code HttpServer}.
 *
 * <p>Why: an idle WebSocket behind Vert.x's server costs ≈ 15 KB of heap (two eagerly allocated
 * 1,024-slot outbound queues, the HTTP connection, the WebSocket wrappers, retained upgrade
 * headers). Here a connection is a Netty channel whose HTTP codec is swapped for the WebSocket
 * frame codec after the upgrade, plus {@link BrowserSocket} and {@link BrowserConnection}.
 *
 * <p>The listener and its connections live on the instance's own event loop, so every handler
 * runs on the thread of the instance's Vert.x context. Several instances share the port with
 * {@code SO_REUSEPORT} (the kernel spreads connections over their listeners);
 * {@link #claim} checks first that no other process holds the port.
 */
final class WebSocketServer {
  /** Longest HTTP request head and body before the upgrade (an upgrade has no body). */
  private static final int MAX_REQUEST_BYTES = 8192;

  private final Channel listener;

  private WebSocketServer(Channel listener) {
    this.listener = listener;
  }

  /**
   * Binds {@code host:port} on {@code context}'s event loop. {@code tls} gives the current TLS
   * context for each new connection (null: plain); {@code upgrade} handles each HTTP request.
   */
  static Future<WebSocketServer> bind(LoopContext context, String host, int port, boolean sharedPort,
      Supplier<SslContext> tls, Supplier<Handshake> handshake) {
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(context.eventLoop(), context.eventLoop())
        .channelFactory(context.serverChannelFactory())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .handler(new AcceptFailures())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ChannelPipeline p = ch.pipeline();
            SslContext ssl = tls.get();
            if (ssl != null) {
              p.addLast("ssl", ssl.newHandler(ch.alloc()));
            }
            p.addLast("http", new HttpServerCodec(4096, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES));
            p.addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST_BYTES));
            p.addLast("handshake", handshake.get());
          }
        });
    if (sharedPort) {
      bootstrap.option(context.reusePort(), true);
    }
    Promise<WebSocketServer> bound = context.promise();
    bootstrap.bind(new InetSocketAddress(host, port)).addListener(f -> {
      if (f.isSuccess()) {
        bound.complete(new WebSocketServer(((io.netty.channel.ChannelFuture) f).channel()));
      } else {
        bound.fail(f.cause());
      }
    });
    return bound.future();
  }

  /**
   * Accept errors (above all: out of file descriptors) on the listener. Netty pauses accepting
   * for a second after one and retries; without a handler each retry logs a stack trace. This
   * logs one line per minute at most, with the count.
   */
  private static final class AcceptFailures extends io.netty.channel.ChannelInboundHandlerAdapter {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WebSocketServer.class);
    private long lastLogNs;
    private int since;

    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      since++;
      long now = System.nanoTime();
      if (lastLogNs == 0 || now - lastLogNs > 60_000_000_000L) {
        LOG.warn("WebSocket port: cannot accept connections ({} failures): {}", since, cause.getMessage());
        lastLogNs = now;
        since = 0;
      }
    }
  }

  /**
   * The port the instances will share: {@code port} if no socket holds it (instances bind it
   * with SO_REUSEPORT, which would otherwise quietly share it with another broker's), or a free
   * one for 0.
   */
  static int claim(String host, int port) throws IOException {
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress(host, port));
      return probe.getLocalPort();
    }
  }

  Future<Void> close() {
    Promise<Void> closed = Promise.promise();
    listener.close().addListener(f -> closed.complete());
    return closed.future();
  }
}
