package io.webrocket.bus;

import io.webrocket.protocol.Frame;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Carries {@link Frame}s on the event bus: to local consumers as the same immutable object (no
 * copy per endpoint instance), to other nodes as its bytes.
 */
public final class FrameCodec implements MessageCodec<Frame, Frame> {
  public static final String NAME = "webrocket.frame";

  @Override
  public void encodeToWire(Buffer buffer, Frame frame) {
    buffer.appendInt(frame.wire().length).appendBytes(frame.wire());
  }

  @Override
  public Frame decodeFromWire(int pos, Buffer buffer) {
    int len = buffer.getInt(pos);
    return new Frame(buffer.getBytes(pos + 4, pos + 4 + len));
  }

  @Override
  public Frame transform(Frame frame) {
    return frame;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
