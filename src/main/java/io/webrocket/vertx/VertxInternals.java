package io.webrocket.vertx;

import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.spi.cluster.ClusterManager;
import java.net.StandardSocketOptions;

/**
 * The one place that uses Vert.x's internal API ({@code io.vertx.core.internal}): it may change
 * in any release, so a Vert.x upgrade that breaks it breaks this class alone (LayeringTest keeps
 * it so). What we take from it: a context's Netty event loop and running on it without a task
 * (the WebSocket transport and its fan-out writer), a TCP socket's channel context (the WBP
 * writer), the cluster manager (the node id, live members, Hazelcast) and the transport's name.
 */
public final class VertxInternals {
  private VertxInternals() {}

  /** The cluster manager, or null when the node is not clustered. */
  public static ClusterManager clusterManager(Vertx vertx) {
    return ((VertxInternal) vertx).clusterManager();
  }

  /** The simple name of the transport Vert.x runs on, e.g. {@code EpollTransport}. */
  public static String transportName(Vertx vertx) {
    return ((VertxInternal) vertx).transport().getClass().getSimpleName();
  }

  /** The Netty channel context under a Vert.x TCP socket: frames written there skip Vert.x's queue. */
  public static ChannelHandlerContext channelHandlerContext(NetSocket socket) {
    return ((NetSocketInternal) socket).channelHandlerContext();
  }

  /** {@code context} (an event-loop context) as our Netty code uses it. */
  public static LoopContext loop(Context context) {
    return new Loop((ContextInternal) context);
  }

  private static final class Loop implements LoopContext {
    private final ContextInternal context;

    Loop(ContextInternal context) {
      this.context = context;
    }

    @Override
    public <T> void emit(T arg, Handler<T> handler) {
      context.emit(arg, handler);
    }

    @Override
    public void runOnContext(Handler<Void> task) {
      context.runOnContext(task);
    }

    @Override
    public EventLoop eventLoop() {
      return context.nettyEventLoop();
    }

    @Override
    public <T> Promise<T> promise() {
      return context.promise();
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory() {
      return context.owner().transport().serverChannelFactory(false);
    }

    @Override
    public ChannelOption<Boolean> reusePort() {
      // The JDK's option for NIO, the Unix one for epoll and io_uring.
      return context.owner().transport().getClass().getSimpleName().startsWith("Nio")
          ? NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT)
          : io.netty.channel.unix.UnixChannelOption.SO_REUSEPORT;
    }
  }
}
