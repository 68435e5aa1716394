package io.webrocket.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Splits a WBP byte stream into messages (lists of frames), whatever the TCP segmentation.
 *
 * <p>A message is lines ending in {@code \n}, closed by two consecutive lines that are exactly
 * {@code \r\n}. A lone {@code \r\n} line not followed by another is an empty frame. Lines keep
 * no {@code \n} and lose one trailing {@code \r}. Empty lines before a message starts are
 * ignored (clients leave stray ones between messages), a lone {@code \r\n} there included. A
 * message larger than the limit is reported once through {@code onOversize} and the decoder
 * stops: framing cannot be trusted after it. While paused, no message is delivered, not even one
 * already received; it waits for {@link #resume()}.
 *
 * <p>What it holds is bounded in bytes, not lines: the message's bytes may not exceed the limit,
 * and neither may they plus {@link #FRAME_COST} per frame exceed twice the limit — a frame costs
 * memory even when empty (a list slot, a String), so a flood of empty lines is refused long
 * before it could hold twenty times what it sent. A message with no frames at all (an end
 * right after the previous message, or on a fresh stream) is reported to {@code onEmpty}.
 */
public final class WbpDecoder {
  /** What one frame costs beyond its characters, roughly: a String, its array and a list slot. */
  public static final int FRAME_COST = 48;
  /** Buffer capacity kept between reads; above it, what is left is copied into a right-sized one. */
  private static final int KEPT_BYTES = 4096;

  private int maxMessageSize;
  private Runnable onEmpty = () -> {};
  private final Consumer<List<String>> onMessage;
  private final Runnable onOversize;

  /**
   * The bytes received and not yet handed out (from its reader index): a heap buffer of our own,
   * searched with Netty's bulk {@code indexOf} (several bytes per step, one bounds check per
   * call). Vert.x's public Buffer reads a byte per call, checking bounds and liveness each time:
   * 15–20 % of a pipelined BC's CPU samples in a profile (docs/cluster-benchmark.md).
   */
  private ByteBuf pending = Unpooled.buffer(0);
  /** Where the search for the next line end goes on (an index into {@link #pending}). */
  private int scanFrom;
  private List<String> frames = new ArrayList<>();
  private boolean sawEndLine;
  private int messageBytes;
  private boolean failed;
  private boolean paused;

  public WbpDecoder(int maxMessageSize, Consumer<List<String>> onMessage, Runnable onOversize) {
    this.maxMessageSize = maxMessageSize;
    this.onMessage = onMessage;
    this.onOversize = onOversize;
  }

  /** Told of each message that has no frame at all ({@code \r\n\r\n} alone). */
  public void onEmpty(Runnable handler) {
    this.onEmpty = handler;
  }

  /** True while part of a message has been received: a frame or the start of a line. */
  public boolean midMessage() {
    return !failed && (!frames.isEmpty() || pending.isReadable());
  }

  /** A new limit (live configuration); the message being read is held to it too. */
  public void maxMessageSize(int limit) {
    this.maxMessageSize = limit;
  }

  public void feed(Buffer data) {
    if (failed) {
      return;
    }
    int n = data.length();
    pending.ensureWritable(n);
    data.getBytes(0, n, pending.array(), pending.arrayOffset() + pending.writerIndex());
    pending.writerIndex(pending.writerIndex() + n);
    decode();
  }

  /** Stops delivering messages, also those already received, until {@link #resume()}. */
  public void pause() {
    paused = true;
  }

  public void resume() {
    if (paused && !failed) {
      paused = false;
      decode();
    }
  }

  private void decode() {
    int lineStart = pending.readerIndex();
    int len = pending.writerIndex();
    int i = Math.max(scanFrom, lineStart);
    while (i < len && !paused) {
      int newline = pending.indexOf(i, len, (byte) '\n');
      if (newline < 0) {
        break;
      }
      messageBytes += newline + 1 - lineStart;
      if (messageBytes > maxMessageSize) {
        fail();
        return;
      }
      line(pending, lineStart, newline);
      if (failed) {
        return;
      }
      if (messageBytes + (long) FRAME_COST * frames.size() > 2L * maxMessageSize) {
        fail();
        return;
      }
      lineStart = newline + 1;
      i = lineStart;
    }
    pending.readerIndex(lineStart);
    if (paused) {
      scanFrom = lineStart; // resumed, the search starts again at the first line not handed out
      compact();
      return;
    }
    if (len - lineStart + messageBytes > maxMessageSize) {
      fail();
      return;
    }
    scanFrom = len; // the unfinished line's bytes were searched already
    compact();
  }

  /**
   * Drops what was handed out. An idle connection keeps at most {@link #KEPT_BYTES} of buffer:
   * one large message does not leave its size behind (a copy of the unfinished tail, if any, is
   * made only then).
   */
  private void compact() {
    int shift = pending.readerIndex();
    if (pending.capacity() > KEPT_BYTES) {
      ByteBuf tail = Unpooled.buffer(pending.readableBytes());
      tail.writeBytes(pending);
      pending = tail;
    } else {
      pending.discardReadBytes();
    }
    scanFrom -= shift;
  }

  private void line(ByteBuf buf, int start, int newline) {
    int length = newline + 1 - start;
    boolean crOnly = length == 2 && buf.getByte(start) == '\r';
    if (sawEndLine) {
      sawEndLine = false;
      if (crOnly) {
        List<String> message = frames;
        frames = new ArrayList<>();
        messageBytes = 0;
        if (!message.isEmpty()) {
          onMessage.accept(message);
        } else {
          onEmpty.run();
        }
        return;
      }
      // The earlier "\r\n" line did not end the message: it was an empty line.
      if (frames.isEmpty()) {
        messageBytes -= 2; // a stray one between messages
      } else {
        frames.add("");
      }
    } else if (crOnly) {
      sawEndLine = true;
      return;
    }
    int end = newline;
    if (end > start && buf.getByte(end - 1) == '\r') {
      end--;
    }
    if (end == start && frames.isEmpty()) {
      messageBytes -= length;
      return; // stray empty line between messages
    }
    // Empty frames share one String: a run of empty lines costs list slots only.
    frames.add(end == start ? "" : buf.toString(start, end - start, StandardCharsets.UTF_8));
  }

  private void fail() {
    failed = true;
    pending = Unpooled.buffer(0);
    frames = new ArrayList<>();
    onOversize.run();
  }
}
