package io.webrocket.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;

/**
 * One one-shot WBP request: connect, send {@code BC} with the identity, read the reply until the
 * server closes the connection. Reports once whether the reply was {@code OK}.
 */
final class OneShot extends ChannelInboundHandlerAdapter {
  interface Done {
    void done(boolean ok);
  }

  private final byte[] request;
  private final Done done;
  private final StringBuilder reply = new StringBuilder();
  private boolean reported;

  OneShot(byte[] request, Done done) {
    this.request = request;
    this.done = done;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.writeAndFlush(ctx.alloc().buffer(request.length).writeBytes(request));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf b = (ByteBuf) msg;
    if (reply.length() < 64) {
      reply.append(b.toString(StandardCharsets.US_ASCII));
    }
    b.release();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!reported) {
      reported = true;
      done.done(reply.toString().startsWith("OK\n"));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
