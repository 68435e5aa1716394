package io.webrocket.history;

/** New epochs: random, so that no two histories (on any node, before or after a restart) share one. */
final class Epochs {
  private Epochs() {}

  static String fresh() {
    return io.webrocket.vhost.Secrets.hex(8);
  }
}
