package io.webrocket.kosmonaut;

/** WBP {@code 429}. Over the broker's per-connection request rate, or (for {@code openChannel}) its limit of channels per vhost; the request was not carried out. */
public class TooManyRequestsException extends KosmonautException {
  public TooManyRequestsException(String message) {
    super(429, message);
  }
}
