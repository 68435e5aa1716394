package io.webrocket.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * A persistent WBP client ({@code KA}) that pipelines {@code BC} requests. Replies are only
 * counted (end marker {@code \r\n\r\n}; one starting with {@code E} is an error). Two uses: the
 * rate-driven publisher of a fan-out step (bounded window), and the window-driven KA rate test
 * (keeps {@code window} requests in flight while {@link #running}).
 *
 * <p>Confined to the generator's event loop.
 */
final class WbpConn extends ChannelInboundHandlerAdapter implements Publisher {
  private final String identity;
  private final Runnable onReady;
  private final int window;
  private Channel ch;
  private int match;
  private boolean atStart = true;
  private boolean errorReply;
  private boolean ready;
  private final String pad;
  long sent;
  long replies;
  long errors;
  String lastError;
  // window-driven mode
  boolean running;
  int step;
  long seq;

  WbpConn(String vhost, String token, int window, int padChars, Runnable onReady) {
    this.identity = "req:" + vhost + ":" + token + ":" + UUID.randomUUID() + "\n";
    this.window = window;
    this.pad = "x".repeat(padChars);
    this.onReady = onReady;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ch = ctx.channel();
    write(identity + "\nKA\n\r\n\r\n");
    ch.flush();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!ready) {
      lastError = "closed before KA reply";
      onReady.run();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    lastError = String.valueOf(cause);
    ctx.close();
  }

  boolean isReady() {
    return ready;
  }

  void close() {
    if (ch != null) {
      ch.close();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf b = (ByteBuf) msg;
    try {
      for (int i = b.readerIndex(), end = b.writerIndex(); i < end; i++) {
        byte c = b.getByte(i);
        if (atStart) {
          errorReply = c == 'E';
          atStart = false;
        }
        match = switch (match) {
          case 0 -> c == '\r' ? 1 : 0;
          case 1 -> c == '\n' ? 2 : c == '\r' ? 1 : 0;
          case 2 -> c == '\r' ? 3 : 0;
          case 3 -> c == '\n' ? 4 : c == '\r' ? 1 : 0;
          default -> 0;
        };
        if (match == 4) {
          match = 0;
          atStart = true;
          reply(errorReply);
        }
      }
    } finally {
      b.release();
    }
    if (running) {
      refill();
    }
  }

  private void reply(boolean error) {
    if (!ready) {
      ready = true;
      if (error) {
        lastError = "KA refused";
      }
      onReady.run();
      return;
    }
    replies++;
    if (error) {
      errors++;
    }
  }

  /** Window-driven mode: tops the pipeline up to {@code window} requests in flight. */
  void refill() {
    int n = 0;
    while (sent - replies < window && ch.isWritable()) {
      send(step, seq++, System.nanoTime());
      n++;
    }
    if (n > 0) {
      ch.flush();
    }
  }

  private void write(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    ch.write(ch.alloc().buffer(bytes.length).writeBytes(bytes), ch.voidPromise());
  }

  @Override
  public boolean canSend() {
    return ready && ch.isWritable() && sent - replies < window;
  }

  @Override
  public void send(int step, long seq, long ts) {
    sent++;
    write("BC\n" + Bench.CHANNEL + "\nm\n{\"s\":" + step + ",\"q\":" + seq + ",\"t\":" + ts + ",\"p\":\"" + pad + "\"}\n\r\n\r\n");
  }

  @Override
  public void flush() {
    ch.flush();
  }

  @Override
  public long errors() {
    return errors;
  }
}
