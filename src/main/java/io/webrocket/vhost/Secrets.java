package io.webrocket.vhost;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/** Generation and comparison of every secret the broker hands out. */
public final class Secrets {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Secrets() {}

  /** {@code bytes} random bytes as lowercase hex: 20 for vhost tokens and the cookie, 64 for single access tokens. */
  public static String hex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  public static String vhostToken() {
    return hex(20);
  }

  public static String accessToken() {
    return hex(64);
  }

  /**
   * A one-way fingerprint of a token (SHA-256, hex), to name it in announcements without
   * sending the secret itself around the cluster.
   */
  public static String fingerprint(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every JDK has SHA-256
    }
  }

  /** Constant-time comparison, so response timing reveals nothing about a secret. */
  public static boolean same(String expected, String given) {
    if (expected == null || given == null) {
      return false;
    }
    return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }
}
