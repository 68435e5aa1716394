package io.webrocket.kosmonaut;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * WBP framing (see docs/protocol/WBP.md): a message is lines ending in {@code \n}, closed by two
 * lines that are each exactly {@code \r\n}. Encodes requests and reads the broker's messages.
 */
final class Wire {
  /** The largest message the library reads (the broker's replies are far smaller). */
  static final int MAX_MESSAGE = 1 << 20;
  private static final byte[] END = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private Wire() {}

  /**
   * {@code [IDENTITY\n\n]COMMAND\n[FRAME\n]...\r\n\r\n}: the Go and Ruby clients' framing.
   * Frames must not contain line breaks (checked by the callers, who know what the frame is).
   */
  static byte[] encode(String identity, String command, String... frames) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    if (identity != null) {
      write(b, identity);
      b.write('\n');
      b.write('\n');
    }
    write(b, command);
    b.write('\n');
    for (String f : frames) {
      write(b, f);
      b.write('\n');
    }
    b.writeBytes(END);
    return b.toByteArray();
  }

  private static void write(ByteArrayOutputStream b, String s) {
    b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  /** True if {@code s} can be one frame: no line break in it. */
  static boolean isFrame(String s) {
    return s.indexOf('\n') < 0 && s.indexOf('\r') < 0;
  }

  /** Reads messages from one stream; not thread-safe (one reader per connection). */
  static final class Reader {
    private final InputStream in;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int limit;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(128);

    Reader(InputStream in) {
      this.in = in;
    }

    /**
     * The next message's frames, command first (the broker's trailing empty frame, as in
     * {@code OK\n\n\r\n\r\n}, is kept); null at end of stream between two messages.
     */
    List<String> read() throws IOException {
      List<String> frames = new ArrayList<>(4);
      int size = 0;
      boolean possibleEnd = false;
      while (true) {
        String l = readLine(frames.isEmpty() && !possibleEnd);
        if (l == null) {
          return null;
        }
        size += l.length() + 1;
        if (size > MAX_MESSAGE) {
          throw new IOException("message over " + MAX_MESSAGE + " bytes");
        }
        if (l.equals("\r")) {
          if (possibleEnd) {
            return frames;
          }
          possibleEnd = true;
          continue;
        }
        if (possibleEnd) {
          frames.add(""); // a lone \r\n not followed by another was an empty frame
          possibleEnd = false;
        }
        String frame = l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
        if (frames.isEmpty() && frame.isEmpty()) {
          continue; // stray empty lines between two messages
        }
        frames.add(frame);
      }
    }

    /** One line without its {@code \n}; null if the stream ends where {@code eofAllowed}. */
    private String readLine(boolean eofAllowed) throws IOException {
      line.reset();
      while (true) {
        if (pos == limit) {
          limit = in.read(buf);
          pos = 0;
          if (limit < 0) {
            limit = 0;
            if (eofAllowed && line.size() == 0) {
              return null;
            }
            throw new EOFException("the connection ended inside a message");
          }
        }
        int start = pos;
        while (pos < limit && buf[pos] != '\n') {
          pos++;
        }
        line.write(buf, start, pos - start);
        if (line.size() > MAX_MESSAGE) {
          throw new IOException("line over " + MAX_MESSAGE + " bytes");
        }
        if (pos < limit) {
          pos++; // the \n
          return line.toString(StandardCharsets.UTF_8);
        }
      }
    }
  }
}
