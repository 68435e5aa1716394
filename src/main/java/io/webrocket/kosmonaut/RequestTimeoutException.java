package io.webrocket.kosmonaut;

/**
 * Code {@value KosmonautException#TIMEOUT}: no reply within the request timeout. The request may
 * still take effect; the connection it waited on is closed (the replies behind it are late too)
 * and the next request makes a new one.
 */
public class RequestTimeoutException extends KosmonautException {
  public RequestTimeoutException(String message) {
    super(TIMEOUT, message);
  }
}
