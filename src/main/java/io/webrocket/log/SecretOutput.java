package io.webrocket.log;

/**
 * Whether secrets (the admin cookie, the tokens of newly declared vhosts) may be printed on
 * stdout: only to an interactive terminal, or when the operator asked with {@code -print-secrets}.
 * Otherwise stdout ends in container and service logs, readable by whoever reads those; the
 * lines then say where the secret is found instead.
 */
public final class SecretOutput {
  private static volatile boolean requested;

  private SecretOutput() {}

  /** {@code -print-secrets} was given. */
  public static void request() {
    requested = true;
  }

  public static boolean shown() {
    return requested || System.console() != null;
  }

  /** Prints {@code withSecret} if secrets may be shown, {@code withoutSecret} otherwise. */
  public static void println(String withSecret, String withoutSecret) {
    System.out.println(shown() ? withSecret : withoutSecret);
  }
}
