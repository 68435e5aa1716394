package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.ServerChannel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.webrocket.vertx.LoopContext;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The transport's tests on Netty's {@code EmbeddedChannel}: the endpoint's pipeline before the
 * upgrade, a {@link LoopContext} on the channel's own loop (emit runs at once, as on a real
 * event loop), and raw client frames in and raw bytes out.
 */
final class EmbeddedLoop implements LoopContext {
  private final Supplier<EventLoop> loop;

  EmbeddedLoop(Supplier<EventLoop> loop) {
    this.loop = loop;
  }

  /** A channel with the endpoint's pre-upgrade pipeline (as WebSocketServer builds it) and {@code gate}. */
  static EmbeddedChannel handshakeChannel(Handshake.Gate gate) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.pipeline().addLast("http", new HttpServerCodec(4096, 8192, 8192));
    ch.pipeline().addLast("aggregator", new HttpObjectAggregator(8192));
    ch.pipeline().addLast("handshake", new Handshake(gate));
    return ch;
  }

  /** How a test's gate answers an upgrade: {@link Handshake#refuse} or {@link Handshake#accept}. */
  interface Answer {
    void upgrade(Handshake hs, ChannelHandlerContext ctx, FullHttpRequest req);
  }

  /** A gate that answers every upgrade with {@code answer}; the timeouts are 1 s. */
  static Handshake.Gate gate(Answer answer) {
    return new Handshake.Gate() {
      @Override
      public void upgrade(Handshake hs, ChannelHandlerContext ctx, FullHttpRequest req) {
        answer.upgrade(hs, ctx, req);
      }

      @Override
      public long handshakeTimeoutMs() {
        return 1000;
      }

      @Override
      public long messageTimeoutMs() {
        return 1000;
      }
    };
  }

  static void writeAscii(EmbeddedChannel ch, String s) {
    ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
  }

  /** Everything the channel wrote so far (flushed), as bytes. */
  static byte[] written(EmbeddedChannel ch) {
    ch.runPendingTasks();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ByteBuf b = (ByteBuf) o;
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      b.release();
      out.writeBytes(bytes);
    }
    return out.toByteArray();
  }

  static String writtenAscii(EmbeddedChannel ch) {
    return new String(written(ch), StandardCharsets.ISO_8859_1);
  }

  /** One masked client frame (RFC 6455 5.2), payload under 126 bytes. */
  static ByteBuf clientFrame(boolean fin, int opcode, byte[] payload) {
    byte[] mask = {0x11, 0x22, 0x33, 0x44};
    ByteBuf b = Unpooled.buffer();
    b.writeByte((fin ? 0x80 : 0) | opcode);
    b.writeByte(0x80 | payload.length);
    b.writeBytes(mask);
    for (int i = 0; i < payload.length; i++) {
      b.writeByte(payload[i] ^ mask[i % 4]);
    }
    return b;
  }

  static ByteBuf clientText(String text) {
    return clientFrame(true, 0x1, text.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public <T> void emit(T arg, Handler<T> handler) {
    handler.handle(arg);
  }

  @Override
  public void runOnContext(Handler<Void> task) {
    loop.get().execute(() -> task.handle(null));
  }

  @Override
  public EventLoop eventLoop() {
    return loop.get();
  }

  @Override
  public <T> Promise<T> promise() {
    return Promise.promise();
  }

  @Override
  public ChannelFactory<? extends ServerChannel> serverChannelFactory() {
    throw new UnsupportedOperationException("no listener on an embedded channel");
  }

  @Override
  public ChannelOption<Boolean> reusePort() {
    throw new UnsupportedOperationException("no listener on an embedded channel");
  }
}
