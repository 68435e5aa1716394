package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;

/**
 * What the transport ({@link BrowserSocket}) delivers to its WWFP session
 * ({@link BrowserConnection}): whole, valid messages, control-frame checks, timeouts and the end
 * of the connection. Called on the endpoint instance's Vert.x context (see
 * {@link io.webrocket.vertx.LoopContext#emit}), except {@link #controlFrameAllowed} and
 * {@link #pong}, which Netty calls while reading.
 */
interface TransportEvents {

  /** The upgrade is answered: the session's first message leaves with the 101. */
  void opened();

  /** A whole text message, valid UTF-8. */
  void onText(String text);

  /** A whole binary message (WWFP is text only). */
  void onBinary();

  /** May a ping or pong from the peer be taken? False: ignored (no pong, not heard). */
  boolean controlFrameAllowed();

  /** The answer to the peer's ping, a complete frame (not consumed): sent within the outbound bound. */
  void pong(ByteBuf frame);

  /** A fragmented message was not complete within {@code websocket.messageTimeoutMs}. */
  void messageTimedOut();

  /** Close for a WebSocket-level fault (the session leaves its channels, then the close goes out). */
  void shutdown(short status, String reason);

  /** The connection is gone (any reason). */
  void onClosed();
}
