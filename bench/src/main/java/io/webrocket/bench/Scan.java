package io.webrocket.bench;

import io.netty.buffer.ByteBuf;

/**
 * Cheap extraction of the generator's own fields from a delivery, without JSON parsing. The
 * generator publishes {@code {"s":STEP,"q":SEQ,"t":NANOTIME,"p":"..."}}; WebRocket delivers it as
 * {@code {"m":{"s":..,"q":..,"t":..,"p":"..","channel":..,"sid":..}}} (keys keep their order), the
 * relay verbatim. So the three numbers are found by a short forward scan from the start.
 */
final class Scan {
  private Scan() {}

  /**
   * Finds {@code "K":} (single-character key {@code k}) in [{@code from}, {@code to}) and parses the
   * non-negative integer after it. Returns the value, with the index just past it in {@code pos[0]};
   * -1 if absent or not a number.
   */
  static long field(ByteBuf b, int from, int to, char k, int[] pos) {
    int i = from;
    int end = to - 4;
    while (i < end) {
      if (b.getByte(i) == '"' && b.getByte(i + 1) == k && b.getByte(i + 2) == '"' && b.getByte(i + 3) == ':') {
        int j = i + 4;
        long v = 0;
        int digits = 0;
        while (j < to) {
          int c = b.getByte(j) - '0';
          if (c < 0 || c > 9) {
            break;
          }
          v = v * 10 + c;
          j++;
          digits++;
        }
        if (digits == 0) {
          return -1;
        }
        pos[0] = j;
        return v;
      }
      i++;
    }
    return -1;
  }
}
