package io.webrocket.kosmonaut;

/** WBP {@code 400}. The broker refused the request as malformed: a missing or empty frame, an event name starting with {@code :}, data that is not a JSON object, or a permission pattern that is not a valid regular expression. */
public class BadRequestException extends KosmonautException {
  public BadRequestException(String message) {
    super(400, message);
  }
}
