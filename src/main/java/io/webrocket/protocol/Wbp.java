package io.webrocket.protocol;

import io.vertx.core.buffer.Buffer;
import io.webrocket.protocol.Status;
import java.nio.charset.StandardCharsets;

/** Encodes WBP messages the broker sends: {@code CMD\n} + frames joined by {@code \n} + {@code \n\r\n\r\n}. */
public final class Wbp {
  private static final byte[] END = "\n\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  public static final Buffer OK = encode("OK");
  public static final Buffer HB = encode("HB");
  public static final Buffer QT = encode("QT");

  private Wbp() {}

  public static Buffer encode(String command, String... frames) {
    Buffer b = Buffer.buffer(command.length() + 16).appendString(command).appendByte((byte) '\n');
    for (int i = 0; i < frames.length; i++) {
      if (i > 0) {
        b.appendByte((byte) '\n');
      }
      b.appendString(frames[i], "UTF-8");
    }
    return b.appendBytes(END);
  }

  public static Buffer error(Status status) {
    return encode("ER", Integer.toString(status.code));
  }

  public static Buffer error(int code) {
    return encode("ER", Integer.toString(code));
  }
}
