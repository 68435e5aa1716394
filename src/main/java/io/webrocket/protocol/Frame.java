package io.webrocket.protocol;

import io.vertx.core.buffer.Buffer;

/**
 * A WWFP message encoded once, as the complete WebSocket text frame every subscriber receives
 * (FIN, opcode 1, unmasked: server to client). This is what a broadcast travels as on the event
 * bus: {@link FrameCodec} passes it between local verticles without a copy, so it is
 * immutable — nobody writes into {@link #wire()}.
 */
public record Frame(byte[] wire) {

  /** Frames {@code json} (UTF-8 text). */
  public static Frame text(Buffer json) {
    int len = json.length();
    int header = len < 126 ? 2 : len < 65536 ? 4 : 10;
    byte[] wire = new byte[header + len];
    wire[0] = (byte) 0x81;
    if (len < 126) {
      wire[1] = (byte) len;
    } else if (len < 65536) {
      wire[1] = 126;
      wire[2] = (byte) (len >>> 8);
      wire[3] = (byte) len;
    } else {
      wire[1] = 127;
      for (int i = 0; i < 8; i++) {
        wire[2 + i] = (byte) ((long) len >>> (56 - 8 * i));
      }
    }
    json.getBytes(0, len, wire, header);
    return new Frame(wire);
  }
}
