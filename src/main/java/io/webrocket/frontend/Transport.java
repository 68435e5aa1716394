package io.webrocket.frontend;

import io.netty.buffer.ByteBuf;

/**
 * What a WWFP session ({@link BrowserConnection}) may ask of its WebSocket: write, hold back
 * reading, close. Implemented by {@link BrowserSocket} over Netty. Called on the endpoint
 * instance's event loop only.
 */
interface Transport {

  /**
   * Queues a complete frame (not consumed) after any pending fan-out, never dropped; flushed at
   * the end of the pass. False if that left the socket over its outbound bound (the caller
   * then throttles it).
   */
  boolean reply(ByteBuf frame);

  /** Queues a complete frame (not consumed) only within the outbound bound; false (nothing written) over it. */
  boolean replyIfRoom(ByteBuf frame);

  /** Hands what is queued on this socket (with pending fan-out) to the kernel now. */
  void flush();

  /** Stops handing messages over (and reading) until {@link #resume}. */
  void pause();

  /** Hands over the held messages, in order, until paused again; then reads on. */
  void resume();

  /** Stops reading until the socket drains below half its outbound bound (a reply went over it). */
  void throttle();

  /** True once a close frame has been sent: nothing more may follow it. */
  boolean closeSent();

  /**
   * Starts the closing handshake with {@code status}: frames written before it go first; the
   * connection ends when the peer answers, or after {@link BrowserSocket#CLOSING_TIMEOUT_MS}.
   */
  void close(short status, String reason);

  /** Sends the close frame and ends the connection without waiting for the answer (the node is stopping). */
  void closeNow(short status, String reason);

  /** Ends the connection with 1008 from the transport's side (the session leaves its channels first). */
  void policyViolation(String reason);
}
