package io.webrocket.kosmonaut;

/** WBP {@code 451}. The channel name is not a valid name ({@code ^[A-Za-z0-9_][A-Za-z0-9_.-]*$}, at most 128 characters). */
public class InvalidChannelNameException extends KosmonautException {
  public InvalidChannelNameException(String message) {
    super(451, message);
  }
}
