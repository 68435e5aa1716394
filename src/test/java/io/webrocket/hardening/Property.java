package io.webrocket.hardening;

import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A small property runner: {@code tries} inputs from a generator, each from its own seed, so a
 * failure names the seed and the input that broke the property. Seeds differ on every run;
 * {@code -Dwebrocket.seed=N} repeats one.
 */
final class Property {
  static final long SEED = Long.getLong("webrocket.seed", System.nanoTime());

  private Property() {}

  static <T> void forAll(int tries, Function<Random, T> generator, Consumer<T> property) {
    Random seeds = new Random(SEED);
    for (int i = 0; i < tries; i++) {
      long seed = seeds.nextLong();
      T input = generator.apply(new Random(seed));
      try {
        property.accept(input);
      } catch (Throwable t) {
        AssertionError e = new AssertionError("property failed on try " + i + " (run seed " + SEED
            + ", -Dwebrocket.seed=" + SEED + " repeats it) for input: " + show(input) + "\n" + t, t);
        throw e;
      }
    }
  }

  static String show(Object input) {
    String s = input instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.ISO_8859_1) : String.valueOf(input);
    s = s.replace("\r", "\\r").replace("\n", "\\n");
    return s.length() > 600 ? s.substring(0, 600) + "… (" + s.length() + " chars)" : s;
  }

  // ---- generators ----

  /** Any UTF-16 string, lone surrogates and control characters included. */
  static String anyString(Random r, int maxLength) {
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(maxLength + 1); i > 0; i--) {
      b.append((char) r.nextInt(0x10000));
    }
    return b.toString();
  }

  /** A valid Unicode string, weighted towards what breaks codecs: quotes, escapes, controls, astral code points. */
  static String text(Random r, int maxLength) {
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(maxLength + 1); i > 0; i--) {
      switch (r.nextInt(6)) {
        case 0 -> b.append(charOf(r, "\"\\/{}[]:,\u0000\u001f\u2028\u00e9 "));
        case 1 -> b.appendCodePoint(0x1F300 + r.nextInt(0x300));
        case 2 -> b.appendCodePoint(0xA0 + r.nextInt(0xD7FF - 0xA0));
        default -> b.append((char) (32 + r.nextInt(95)));
      }
    }
    return b.toString();
  }

  static char charOf(Random r, String chars) {
    return chars.charAt(r.nextInt(chars.length()));
  }

  /** Picks one of {@code choices}. */
  @SafeVarargs
  static <T> T oneOf(Random r, T... choices) {
    return choices[r.nextInt(choices.length)];
  }
}
