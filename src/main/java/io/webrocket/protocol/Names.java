package io.webrocket.protocol;

import java.util.regex.Pattern;

/** Validity rules for vhost paths and channel names, and the channel type a name implies. */
public final class Names {
  private static final Pattern VHOST = Pattern.compile("^/[\\w\\-]+(/[\\w\\-]+)*$");
  private static final Pattern CHANNEL = Pattern.compile("^[A-Za-z0-9_][A-Za-z0-9_.\\-]*$");
  public static final int MAX_CHANNEL_LENGTH = 128;

  public enum ChannelType {
    OPEN,
    PRIVATE,
    PRESENCE;

    /** Private and presence channels need an authenticated connection whose permission matches. */
    public boolean needsPermission() {
      return this != OPEN;
    }
  }

  private Names() {}

  public static boolean isValidVhost(String path) {
    return path != null && path.length() <= 256 && VHOST.matcher(path).matches();
  }

  /**
   * Admin-endpoint paths used by operations routes ({@code /metrics}, {@code /health},
   * {@code /ready}, {@code /console}, {@code /cluster}): vhosts by these names could not be
   * managed through WARI.
   */
  public static boolean isReservedAdminPath(String vhost) {
    return java.util.Set.of("/metrics", "/health", "/ready", "/console", "/cluster").contains(vhost);
  }

  public static boolean isValidChannel(String name) {
    return name != null
        && !name.isEmpty()
        && name.length() <= MAX_CHANNEL_LENGTH
        && CHANNEL.matcher(name).matches();
  }

  public static ChannelType typeOf(String channel) {
    if (channel.startsWith("presence-")) {
      return ChannelType.PRESENCE;
    }
    if (channel.startsWith("private-")) {
      return ChannelType.PRIVATE;
    }
    return ChannelType.OPEN;
  }
}
