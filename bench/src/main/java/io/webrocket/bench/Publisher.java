package io.webrocket.bench;

/** Something that publishes the generator's messages: a browser connection, a relay client or WBP. */
interface Publisher {
  /** False while the publisher would only queue (socket not writable, pipeline window full). */
  boolean canSend();

  /** Writes one message {@code {"s":step,"q":seq,"t":ts,...}} without flushing. */
  void send(int step, long seq, long ts);

  void flush();

  /** Error replies seen so far (WBP {@code ER}). */
  long errors();
}
