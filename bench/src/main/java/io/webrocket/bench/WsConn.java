package io.webrocket.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One client WebSocket, spoken by hand on a raw Netty channel: an HTTP/1.1 upgrade, then server
 * frames parsed straight from the ByteBufs. Text deliveries are not JSON-parsed: the step,
 * sequence number and send timestamp are picked out by {@link Scan}. Client frames are masked
 * with the all-zero key, which is valid and leaves the payload as is.
 *
 * <p>Confined to the generator's event loop.
 */
final class WsConn extends ChannelInboundHandlerAdapter implements Publisher {
  /** Called once: true when usable (WebRocket: ":connected" or ":subscribed" as asked; relay: 101). */
  interface Ready {
    void done(WsConn conn, boolean ok);
  }

  private final Stats stats;
  private final boolean relay;
  private final String path;
  private final boolean subscribe;
  private final Ready ready;
  private final long startNs;
  private boolean reported;
  private boolean upgraded;
  private boolean closing;
  private ByteBuf cum;
  private long lastSeq = -1;
  /** A recovering subscriber's {@code "since"} object (JSON), or null for a plain subscribe. */
  String since;
  /** What {@code :subscribed} said of a channel with history: its offset and epoch (null without). */
  volatile Long subscribedOffset;
  volatile String subscribedEpoch;
  private final int[] pos = new int[1];
  Channel ch;
  /** Index of the WebSocket port (node) this connection went to, in {@code --ws-ports} order. */
  int node;
  long readyNs;
  /** Why the connection did not become ready (for the generator's log), or null. */
  String failReason;
  Consumer<WsConn> onUnexpectedClose;

  WsConn(Stats stats, boolean relay, String path, boolean subscribe, Ready ready) {
    this.stats = stats;
    this.relay = relay;
    this.path = path;
    this.subscribe = subscribe;
    this.ready = ready;
    this.startNs = System.nanoTime();
  }

  long connectNs() {
    return readyNs - startNs;
  }

  /** The TCP connect itself failed (no channelActive/Inactive will follow). */
  void connectFailed() {
    failReason = "TCP connect failed";
    report(false);
  }

  private void report(boolean ok) {
    if (!reported) {
      reported = true;
      readyNs = System.nanoTime();
      ready.done(this, ok);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ch = ctx.channel();
    String req = "GET " + path + " HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\n\r\n";
    ctx.writeAndFlush(ctx.alloc().buffer(req.length()).writeBytes(req.getBytes(StandardCharsets.US_ASCII)));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (cum != null) {
      cum.release();
      cum = null;
    }
    if (!reported && failReason == null) {
      failReason = upgraded ? "closed before ready" : "closed during the handshake";
    }
    report(false);
    if (!closing && onUnexpectedClose != null) {
      onUnexpectedClose.accept(this);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /**
   * Closes {@code conns} on their event loop {@code loop} and waits, at most {@code seconds} in
   * all, until each is closed (the server has seen it go before the next round is measured).
   */
  static void closeAll(EventLoop loop, List<WsConn> conns, int seconds) throws Exception {
    loop.submit(() -> conns.forEach(WsConn::close)).get(seconds, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (WsConn c : conns) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      if (c.ch != null) {
        c.ch.closeFuture().await(TimeUnit.NANOSECONDS.toMillis(left));
      }
    }
  }

  void close() {
    closing = true;
    if (ch != null) {
      ch.close();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf in = (ByteBuf) msg;
    ByteBuf buf;
    if (cum != null) {
      cum.writeBytes(in);
      in.release();
      buf = cum;
    } else {
      buf = in;
    }
    if (!upgraded) {
      int end = indexOfCrlfCrlf(buf);
      if (end < 0) {
        keep(ctx, buf, in);
        return;
      }
      String status = buf.toString(buf.readerIndex(), Math.min(12, end - buf.readerIndex()), StandardCharsets.US_ASCII);
      if (!status.equals("HTTP/1.1 101")) {
        failReason = "handshake answered " + status;
        buf.release();
        cum = null;
        ctx.close();
        return;
      }
      buf.readerIndex(end + 4);
      upgraded = true;
      if (relay) {
        report(true);
      }
    }
    long now = System.nanoTime();
    while (true) {
      int r = buf.readerIndex();
      int avail = buf.writerIndex() - r;
      if (avail < 2) {
        break;
      }
      int b0 = buf.getByte(r);
      int b1 = buf.getByte(r + 1) & 0xff;
      long len = b1 & 0x7f;
      int hdr = 2;
      if (len == 126) {
        if (avail < 4) {
          break;
        }
        len = buf.getUnsignedShort(r + 2);
        hdr = 4;
      } else if (len == 127) {
        if (avail < 10) {
          break;
        }
        len = buf.getLong(r + 2);
        hdr = 10;
      }
      if ((b1 & 0x80) != 0) {
        hdr += 4; // servers do not mask; tolerated, payload left as is
      }
      if (avail < hdr + len) {
        break;
      }
      int p = r + hdr;
      int n = (int) len;
      switch (b0 & 0x0f) {
        case 0x1, 0x0 -> onText(buf, p, n, now);
        case 0x9 -> pong(ctx, buf, p, n);
        case 0x8 -> {
          ctx.close();
        }
        default -> {}
      }
      buf.readerIndex(p + n);
    }
    keep(ctx, buf, in);
  }

  /** Keeps the unread rest of {@code buf} for the next read. */
  private void keep(ChannelHandlerContext ctx, ByteBuf buf, ByteBuf in) {
    if (!buf.isReadable()) {
      buf.release();
      cum = null;
      return;
    }
    if (buf == in) {
      cum = ctx.alloc().buffer(Math.max(1024, buf.readableBytes() * 2));
      cum.writeBytes(buf);
      buf.release();
    } else {
      cum.discardSomeReadBytes();
    }
  }

  private static int indexOfCrlfCrlf(ByteBuf b) {
    for (int i = b.readerIndex(); i + 3 < b.writerIndex(); i++) {
      if (b.getByte(i) == '\r' && b.getByte(i + 1) == '\n' && b.getByte(i + 2) == '\r' && b.getByte(i + 3) == '\n') {
        return i;
      }
    }
    return -1;
  }

  private void onText(ByteBuf b, int p, int n, long now) {
    Stats s = stats;
    s.lastRecvNs = now;
    if (n > 3 && b.getByte(p + 2) == ':') {
      control(b, p, n);
      return;
    }
    long step = Scan.field(b, p, p + n, 's', pos);
    if (step < 0) {
      s.error("unexpected: " + b.toString(p, Math.min(n, 200), StandardCharsets.UTF_8));
      return;
    }
    if (step != s.step) {
      s.stale++;
      return;
    }
    long seq = Scan.field(b, pos[0], p + n, 'q', pos);
    long ts = Scan.field(b, pos[0], p + n, 't', pos);
    s.received++;
    s.lastPayloadBytes = n;
    if (seq <= lastSeq) {
      s.orderViolations++;
    }
    lastSeq = seq;
    long lat = now - ts;
    s.latency.recordValue(lat < 0 ? 0 : Math.min(lat, 59_000_000_000L));
  }

  /** WebRocket's own events: {@code {":connected":...}}, {@code {":subscribed":...}}, {@code {":error":...}}. */
  private void control(ByteBuf b, int p, int n) {
    String head = b.toString(p, Math.min(n, 16), StandardCharsets.US_ASCII);
    if (head.startsWith("{\":connected\"")) {
      if (subscribe) {
        sendText("{\"subscribe\":{\"channel\":\"" + Bench.CHANNEL + "\""
            + (since == null ? "" : ",\"since\":" + since) + "}}");
        ch.flush();
      } else {
        report(true);
      }
    } else if (head.startsWith("{\":subscribed\"")) {
      if (!reported) { // once per connection: the channel's offset and epoch, if it keeps a history
        io.vertx.core.json.JsonObject sub = new io.vertx.core.json.JsonObject(b.toString(p, n, StandardCharsets.UTF_8))
            .getJsonObject(":subscribed");
        subscribedEpoch = sub.getString("epoch");
        subscribedOffset = sub.getLong("offset");
      }
      report(true);
    } else if (head.startsWith("{\":error\"")) {
      stats.error(b.toString(p, Math.min(n, 200), StandardCharsets.UTF_8));
      if (!reported) {
        failReason = b.toString(p, Math.min(n, 120), StandardCharsets.UTF_8);
      }
      report(false);
    }
  }

  private void pong(ChannelHandlerContext ctx, ByteBuf b, int p, int n) {
    ByteBuf f = ctx.alloc().buffer(n + 6);
    f.writeByte(0x8A);
    f.writeByte(0x80 | n);
    f.writeInt(0);
    f.writeBytes(b, p, n);
    ctx.writeAndFlush(f, ctx.voidPromise());
  }

  /** Writes (without flushing) one masked text frame. */
  void sendText(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int n = bytes.length;
    ByteBuf f = ch.alloc().buffer(n + 14);
    f.writeByte(0x81);
    if (n < 126) {
      f.writeByte(0x80 | n);
    } else if (n < 65536) {
      f.writeByte(0x80 | 126);
      f.writeShort(n);
    } else {
      f.writeByte(0x80 | 127);
      f.writeLong(n);
    }
    f.writeInt(0);
    f.writeBytes(bytes);
    ch.write(f, ch.voidPromise());
  }

  // ---- Publisher: a subscribed browser connection broadcasting, or a relay client sending raw ----

  private String pad = "";

  WsConn pad(int chars) {
    pad = "x".repeat(chars);
    return this;
  }

  @Override
  public boolean canSend() {
    return ch.isWritable();
  }

  @Override
  public void send(int step, long seq, long ts) {
    String data = "{\"s\":" + step + ",\"q\":" + seq + ",\"t\":" + ts + ",\"p\":\"" + pad + "\"}";
    sendText(relay ? data
        : "{\"broadcast\":{\"channel\":\"" + Bench.CHANNEL + "\",\"event\":\"m\",\"data\":" + data + "}}");
  }

  @Override
  public void flush() {
    ch.flush();
  }

  @Override
  public long errors() {
    return 0; // a broadcast error comes back as ":error" and is counted in Stats
  }
}
