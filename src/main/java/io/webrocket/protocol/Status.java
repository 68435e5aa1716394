package io.webrocket.protocol;

/** Status codes shared by WWFP, WBP and the event-bus conversations between verticles. */
public enum Status {
  BAD_REQUEST(400, "Bad request"),
  UNAUTHORIZED(402, "Unauthorized"),
  FORBIDDEN(403, "Forbidden"),
  NOT_FOUND(404, "Not found"),
  /** Extension: a rate or count limit was hit (see the limits configuration). */
  TOO_MANY_REQUESTS(429, "Too many requests"),
  INVALID_CHANNEL_NAME(451, "Invalid channel name"),
  NOT_SUBSCRIBED(453, "Not subscribed"),
  CHANNEL_NOT_FOUND(454, "Channel not found"),
  SERVICE_UNAVAILABLE(503, "Service unavailable"),
  INTERNAL_ERROR(597, "Internal error");

  public final int code;
  public final String text;

  Status(int code, String text) {
    this.code = code;
    this.text = text;
  }

  public static Status of(int code) {
    for (Status s : values()) {
      if (s.code == code) {
        return s;
      }
    }
    return INTERNAL_ERROR;
  }

  /** A failure to send back over the event bus; its code survives the trip. */
  public io.vertx.core.eventbus.ReplyException failure() {
    return new io.vertx.core.eventbus.ReplyException(
        io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, code, text);
  }
}
