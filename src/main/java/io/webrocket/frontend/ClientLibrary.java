package io.webrocket.frontend;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * The browser client, served on the WebSocket port's HTTP phase: {@code /webrocket.js} (a classic
 * script and a CommonJS module), {@code /webrocket.mjs} (the same code as an ES module) and
 * {@code /webrocket.d.ts}. A page can load the client from the broker it talks to, at the
 * broker's own version.
 *
 * <p>The files are read from {@code webroot/} once, with their gzip form and ETag, and are
 * immutable: every endpoint instance serves the same bytes. A connection gets one answer,
 * written from memory, and is closed: requests a client pipelines after the first are dropped,
 * so a peer that never reads makes the broker hold one answer at most (until the handshake
 * timeout ends the connection). A page loads the script once and then revalidates it with its
 * ETag, so keep-alive would save little.
 */
final class ClientLibrary {
  /** Fresh for 5 minutes, then revalidated with the ETag (a broker upgrade reaches pages soon). */
  static final String CACHE_CONTROL = "public, max-age=300";

  private record File(byte[] plain, byte[] gzip, String contentType, String etag) {}

  private static final Map<String, File> FILES = load();

  private ClientLibrary() {}

  private static Map<String, File> load() {
    byte[] js = read("webroot/webrocket.js");
    // The ES module is the script plus its export: one source, two forms.
    byte[] mjs = concat(js, "export default WebRocket;\nexport { WebRocket };\n".getBytes(StandardCharsets.UTF_8));
    String javascript = "text/javascript; charset=utf-8";
    return Map.of(
        "/webrocket.js", file(js, javascript),
        "/webrocket.mjs", file(mjs, javascript),
        "/webrocket.d.ts", file(read("webroot/webrocket.d.ts"), "application/typescript; charset=utf-8"));
  }

  /** True if {@code uri} names one of the files (any query string is ignored). */
  static boolean serves(String uri) {
    return FILES.containsKey(path(uri));
  }

  /**
   * Answers {@code req} (which the caller releases) for a file {@link #serves} accepts: GET and
   * HEAD, 304 for a matching {@code If-None-Match}, gzip when accepted, 405 for other methods;
   * then the connection closes (the caller reads nothing more from it).
   */
  static void serve(ChannelHandlerContext ctx, FullHttpRequest req) {
    File f = FILES.get(path(req.uri()));
    FullHttpResponse res;
    HttpMethod method = req.method();
    if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
      res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.METHOD_NOT_ALLOWED, Unpooled.EMPTY_BUFFER);
      res.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD").setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    } else {
      boolean gzip = acceptsGzip(req.headers().get(HttpHeaderNames.ACCEPT_ENCODING));
      String etag = gzip ? f.etag.substring(0, f.etag.length() - 1) + "-gz\"" : f.etag;
      if (matches(req.headers().get(HttpHeaderNames.IF_NONE_MATCH), f.etag)) {
        res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, Unpooled.EMPTY_BUFFER);
      } else {
        byte[] body = gzip ? f.gzip : f.plain;
        res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
            method == HttpMethod.HEAD ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        res.headers()
            .set(HttpHeaderNames.CONTENT_TYPE, f.contentType)
            .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
            .set("X-Content-Type-Options", "nosniff");
        if (gzip) {
          res.headers().set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
        }
      }
      res.headers()
          .set(HttpHeaderNames.ETAG, etag)
          .set(HttpHeaderNames.CACHE_CONTROL, CACHE_CONTROL)
          .set(HttpHeaderNames.VARY, "Accept-Encoding")
          // Module scripts are fetched with CORS; the client is public anyway.
          .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    }
    // One answer per connection, then it closes: nothing a client pipelines can pile up here.
    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
  }

  private static String path(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }

  /** {@code gzip} listed without {@code q=0}. */
  static boolean acceptsGzip(String acceptEncoding) {
    if (acceptEncoding == null) {
      return false;
    }
    for (String part : acceptEncoding.split(",")) {
      String[] p = part.trim().split(";");
      if (p[0].trim().equalsIgnoreCase("gzip") || p[0].trim().equals("*")) {
        return !(p.length > 1 && p[1].replace(" ", "").matches("q=0(\\.0*)?"));
      }
    }
    return false;
  }

  /** Weak comparison (RFC 9110 13.1.2): the gzip form's tag matches too. */
  private static boolean matches(String ifNoneMatch, String etag) {
    if (ifNoneMatch == null) {
      return false;
    }
    String bare = etag.substring(1, etag.length() - 1);
    for (String t : ifNoneMatch.split(",")) {
      String tag = t.trim();
      if (tag.startsWith("W/")) {
        tag = tag.substring(2);
      }
      if (tag.equals("*") || tag.equals(etag) || tag.equals("\"" + bare + "-gz\"")) {
        return true;
      }
    }
    return false;
  }

  private static File file(byte[] plain, String contentType) {
    try {
      ByteArrayOutputStream z = new ByteArrayOutputStream();
      try (GZIPOutputStream gz = new GZIPOutputStream(z)) {
        gz.write(plain);
      }
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(plain);
      String etag = "\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"";
      return new File(plain, z.toByteArray(), contentType, etag);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] read(String resource) {
    try (InputStream in = ClientLibrary.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = new byte[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
