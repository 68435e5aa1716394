package io.webrocket.kosmonaut;

/** WBP {@code 454}. The channel is not open: broadcast to it or close it only after {@code openChannel}. */
public class ChannelNotFoundException extends KosmonautException {
  public ChannelNotFoundException(String message) {
    super(454, message);
  }
}
