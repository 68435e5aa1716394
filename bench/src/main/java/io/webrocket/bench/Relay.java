package io.webrocket.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.internal.http.WebSocketInternal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A bare Vert.x 5 WebSocket relay, the baseline for WebRocket's fan-out: every text message
 * received is forwarded to every connected socket (the sender included). No channels, no
 * subscribe, no JSON. One event loop, like WebRocket pinned to one core.
 *
 * <ul>
 *   <li>{@code flush}: {@code writeTextMessage} per socket — Vert.x encodes and flushes each
 *       message on each socket (one {@code write()} syscall per delivery).
 *   <li>{@code coalesced}: the frame is encoded once; each socket gets a retained duplicate via its
 *       channel context, and every written socket is flushed once per event-loop pass (as
 *       WebRocket's {@code Outbound} does).
 * </ul>
 *
 * <pre>java -cp webrocket-bench.jar io.webrocket.bench.Relay PORT flush|coalesced</pre>
 */
public final class Relay extends VerticleBase {
  private static final class Sock {
    final ServerWebSocket ws;
    final ChannelHandlerContext ctx;
    boolean dirty;

    Sock(ServerWebSocket ws) {
      this.ws = ws;
      this.ctx = ((WebSocketInternal) ws).channelHandlerContext();
    }
  }

  private final int port;
  private final boolean coalesced;
  private final Set<Sock> socks = new LinkedHashSet<>();
  private final List<Sock> dirty = new ArrayList<>();
  private boolean flushScheduled;

  private Relay(int port, boolean coalesced) {
    this.port = port;
    this.coalesced = coalesced;
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    String mode = args.length > 1 ? args[1] : "coalesced";
    if (!mode.equals("flush") && !mode.equals("coalesced")) {
      throw new IllegalArgumentException("mode: flush or coalesced");
    }
    // Native epoll where available, as WebRocket uses by default: the comparison is of the code.
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
    vertx.deployVerticle(new Relay(port, mode.equals("coalesced")))
        .onSuccess(id -> System.out.println("relay (" + mode + ") listening on 127.0.0.1:" + port + ", transport "
            + (vertx.isNativeTransportEnabled() ? "native" : "nio")))
        .onFailure(e -> {
          e.printStackTrace();
          System.exit(1);
        });
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost("127.0.0.1")
        .setPort(port)
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setRegisterWebSocketWriteHandlers(false)
        .setTcpNoDelay(true)
        .setReuseAddress(true);
    return vertx.createHttpServer(options)
        .webSocketHandler(ws -> {
          Sock s = new Sock(ws);
          socks.add(s);
          ws.textMessageHandler(this::relay);
          ws.closeHandler(v -> socks.remove(s));
          ws.exceptionHandler(e -> {});
        })
        .listen();
  }

  private void relay(String text) {
    if (!coalesced) {
      for (Sock s : socks) {
        s.ws.writeTextMessage(text);
      }
      return;
    }
    ByteBuf frame = textFrame(text.getBytes(StandardCharsets.UTF_8));
    try {
      for (Sock s : socks) {
        s.ctx.write(frame.retainedDuplicate(), s.ctx.voidPromise());
        if (!s.dirty) {
          s.dirty = true;
          dirty.add(s);
          if (!flushScheduled) {
            flushScheduled = true;
            context.runOnContext(v -> flush());
          }
        }
      }
    } finally {
      frame.release();
    }
  }

  private void flush() {
    flushScheduled = false;
    for (int i = 0; i < dirty.size(); i++) {
      Sock s = dirty.get(i);
      s.dirty = false;
      s.ctx.flush();
    }
    dirty.clear();
  }

  private static ByteBuf textFrame(byte[] bytes) {
    int len = bytes.length;
    ByteBuf f = Unpooled.directBuffer(len + 10);
    f.writeByte(0x81);
    if (len < 126) {
      f.writeByte(len);
    } else if (len < 65536) {
      f.writeByte(126);
      f.writeShort(len);
    } else {
      f.writeByte(127);
      f.writeLong(len);
    }
    f.writeBytes(bytes);
    return f;
  }
}
