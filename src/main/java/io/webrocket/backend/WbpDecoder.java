package io.webrocket.backend;

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
 * ignored (clients leave stray ones between messages). A message larger than the limit is
 * reported once through {@code onOversize} and the decoder stops: framing cannot be trusted
 * after it.
 */
public final class WbpDecoder {
  private int maxMessageSize;
  private final Consumer<List<String>> onMessage;
  private final Runnable onOversize;

  private Buffer pending = Buffer.buffer();
  private int scanFrom;
  private List<String> frames = new ArrayList<>();
  private boolean sawEndLine;
  private int messageBytes;
  private boolean failed;

  public WbpDecoder(int maxMessageSize, Consumer<List<String>> onMessage, Runnable onOversize) {
    this.maxMessageSize = maxMessageSize;
    this.onMessage = onMessage;
    this.onOversize = onOversize;
  }

  /** A new limit (live configuration); the message being read is held to it too. */
  public void maxMessageSize(int limit) {
    this.maxMessageSize = limit;
  }

  public void feed(Buffer data) {
    if (failed) {
      return;
    }
    pending.appendBuffer(data);
    int lineStart = 0;
    int len = pending.length();
    for (int i = scanFrom; i < len; i++) {
      if (pending.getByte(i) == '\n') {
        messageBytes += i + 1 - lineStart;
        if (messageBytes > maxMessageSize) {
          fail();
          return;
        }
        line(pending, lineStart, i);
        if (failed) {
          return;
        }
        lineStart = i + 1;
      }
    }
    if (len - lineStart + messageBytes > maxMessageSize) {
      fail();
      return;
    }
    pending = lineStart == 0 ? pending : pending.getBuffer(lineStart, len);
    scanFrom = pending.length();
  }

  private void line(Buffer buf, int start, int newline) {
    int end = newline;
    boolean crOnly = end - start == 1 && buf.getByte(start) == '\r';
    if (crOnly) {
      if (sawEndLine) {
        List<String> message = frames;
        frames = new ArrayList<>();
        sawEndLine = false;
        messageBytes = 0;
        if (!message.isEmpty()) {
          onMessage.accept(message);
        }
        return;
      }
      sawEndLine = true;
      return;
    }
    if (sawEndLine) {
      // The earlier "\r\n" line did not end the message: it was an empty frame.
      frames.add("");
      sawEndLine = false;
    }
    if (end > start && buf.getByte(end - 1) == '\r') {
      end--;
    }
    if (end == start && frames.isEmpty()) {
      messageBytes = 0;
      return; // stray empty line between messages
    }
    frames.add(buf.getString(start, end, StandardCharsets.UTF_8.name()));
  }

  private void fail() {
    failed = true;
    pending = Buffer.buffer();
    frames = new ArrayList<>();
    onOversize.run();
  }
}
