package io.webrocket.kosmonaut;

/**
 * Code {@value KosmonautException#CONNECTION}: no connection to the broker could be made within
 * the connect timeout, or it ended before the reply came and the request was not safe to send
 * again (the message says which; a broadcast in that state may or may not have been delivered).
 */
public class ConnectionException extends KosmonautException {
  public ConnectionException(String message, Throwable cause) {
    super(CONNECTION, message, cause);
  }
}
