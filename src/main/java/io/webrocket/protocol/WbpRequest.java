package io.webrocket.protocol;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One decoded WBP request: an optional identity, the command and its arguments.
 *
 * <p>Trailing empty frames are dropped: the Java client ends every request with an extra empty
 * line. A first frame containing {@code :} is an identity line; the empty line that follows it
 * is skipped.
 */
public record WbpRequest(Identity identity, boolean identityMalformed, String command, List<String> args) {

  /** {@code TYPE:VHOST:TOKEN:ID}. */
  public record Identity(String type, String vhost, String token, String id) {
    private static final Pattern FORMAT =
        Pattern.compile("^(req|dlr):(/[\\w\\-]+(?:/[\\w\\-]+)*):([0-9A-Fa-f]{40}):([0-9A-Fa-f\\-]{36})$");

    static Identity parse(String line) {
      Matcher m = FORMAT.matcher(line);
      return m.matches() ? new Identity(m.group(1), m.group(2), m.group(3), m.group(4)) : null;
    }

    public boolean isWorker() {
      return "dlr".equals(type);
    }
  }

  public static WbpRequest parse(List<String> frames) {
    return parse(frames, Integer.MAX_VALUE);
  }

  /**
   * As {@link #parse(List)}; an identity line longer than {@code maxIdentityLength} characters
   * ({@code backend.maxIdentityLength}) is malformed without being matched.
   */
  public static WbpRequest parse(List<String> frames, int maxIdentityLength) {
    int end = frames.size();
    while (end > 0 && frames.get(end - 1).isEmpty()) {
      end--;
    }
    int i = 0;
    Identity identity = null;
    boolean malformed = false;
    if (i < end && frames.get(i).indexOf(':') >= 0) {
      identity = frames.get(i).length() > maxIdentityLength ? null : Identity.parse(frames.get(i));
      malformed = identity == null;
      i++;
      if (i < end && frames.get(i).isEmpty()) {
        i++;
      }
    }
    String command = i < end ? frames.get(i) : "";
    List<String> args = i + 1 <= end ? List.copyOf(frames.subList(Math.min(i + 1, end), end)) : List.of();
    return new WbpRequest(identity, malformed, command, args);
  }

  public String arg(int index) {
    return index < args.size() ? args.get(index) : null;
  }
}
