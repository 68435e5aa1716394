package io.webrocket.kosmonaut;

/**
 * A request the broker refused, or one that could not be carried out. {@link #code()} is the WBP
 * status code: the broker's {@code ER} code (400, 402, 429, 451, 454, 597 …), or one of the two
 * codes the library uses for what happened on its side of the wire, both taken from WBP's
 * log-only statuses: {@link #TIMEOUT} (408, no reply in time) and {@link #CONNECTION} (598, no
 * connection, or it ended before the reply).
 *
 * <p>The codes worth catching have their own subclasses; everything else is this class.
 */
public class KosmonautException extends RuntimeException {
  /** No reply within the request timeout (WBP's "Expired"). */
  public static final int TIMEOUT = 408;
  /** The connection could not be made, or ended before the reply (WBP's "End of file"). */
  public static final int CONNECTION = 598;

  private final int code;

  public KosmonautException(int code, String message) {
    super(code + " " + message);
    this.code = code;
  }

  public KosmonautException(int code, String message, Throwable cause) {
    super(code + " " + message, cause);
    this.code = code;
  }

  /** The WBP status code. */
  public int code() {
    return code;
  }

  /** The status text of a WBP code, as the protocol pages name it. */
  static String statusText(int code) {
    return switch (code) {
      case 400 -> "Bad request";
      case 402 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 408 -> "Request timeout";
      case 429 -> "Too many requests";
      case 451 -> "Invalid channel name";
      case 453 -> "Not subscribed";
      case 454 -> "Channel not found";
      case 503 -> "Service unavailable";
      case 597 -> "Internal error";
      case 598 -> "Connection failed";
      default -> "Error";
    };
  }

  /** The exception for the broker's {@code ER code} answer to {@code request} (e.g. {@code "BC chat"}). */
  static KosmonautException fromBroker(int code, String request) {
    String text = statusText(code) + " (" + request + ")";
    return switch (code) {
      case 400 -> new BadRequestException(text);
      case 402 -> new UnauthorizedException(text);
      case 429 -> new TooManyRequestsException(text);
      case 451 -> new InvalidChannelNameException(text);
      case 454 -> new ChannelNotFoundException(text);
      default -> new KosmonautException(code, text);
    };
  }
}
