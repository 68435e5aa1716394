package io.webrocket.kosmonaut;

/** WBP {@code 402}. The vhost or its access token in the URL is wrong (or the token was regenerated): nothing will work until the URL is fixed. */
public class UnauthorizedException extends KosmonautException {
  public UnauthorizedException(String message) {
    super(402, message);
  }
}
