package io.webrocket.vertx;

import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.ServerChannel;
import io.vertx.core.Handler;
import io.vertx.core.Promise;

/**
 * A verticle's event-loop context as our own Netty code uses it: run a handler on the context
 * now, queue a task on it, its Netty event loop, and what a listener on that loop needs. Made by
 * {@link VertxInternals#loop}; tests of Netty handlers give their own (an {@code EmbeddedChannel}'s
 * loop).
 */
public interface LoopContext {

  /**
   * Runs {@code handler} with {@code arg} on the context, now: the caller is on the context's
   * event loop (a Netty handler of a channel registered there), so no task is queued. One
   * handler made once and an argument per call: nothing is allocated per message.
   */
  <T> void emit(T arg, Handler<T> handler);

  /** Runs {@code task} on the context in a later task of its event loop. */
  void runOnContext(Handler<Void> task);

  /** The context's Netty event loop. */
  EventLoop eventLoop();

  /** A promise whose future's callbacks run on this context. */
  <T> Promise<T> promise();

  /** Makes listening channels of the transport Vert.x runs on (NIO, epoll, io_uring). */
  ChannelFactory<? extends ServerChannel> serverChannelFactory();

  /** SO_REUSEPORT for that transport. */
  ChannelOption<Boolean> reusePort();
}
