package io.webrocket.log;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per protocol request, in the spirit of the 2012 server:
 * {@code websocket[/vhost]: 403 Forbidden; {"subscribe":{"channel":"private-x"}}} and
 * {@code backend[/vhost]: 454 Channel not found; [BC, chat, message, …]}.
 *
 * <p>Never logs a secret or user data: tokens and cookies are masked, payload data and uids
 * are left out; only event names, channel names and codes remain. Logger {@code webrocket.access};
 * off when {@code log.access} is false.
 *
 * <p>Every field a peer chose (vhost, command, channel and event names) is escaped — control
 * characters become {@code \\r}, {@code \\n}, {@code \\t} or a {@code \\uXXXX} escape — and cut at
 * {@code log.maxFieldLength} characters: a request can neither forge log lines, nor send
 * escape sequences to a terminal, nor make a line longer than a few fields' worth.
 */
public final class AccessLog {
  private static final Logger LOG = LoggerFactory.getLogger("webrocket.access");
  private static final String MASK = "***";

  private static volatile int maxFieldLength = 256;

  private AccessLog() {}

  /** {@code log.maxFieldLength}: the longest a logged field may be, in characters. */
  public static void maxFieldLength(int limit) {
    maxFieldLength = limit;
  }

  /** {@code s} with control characters escaped and cut to {@code log.maxFieldLength} (then {@code …}). */
  static String field(String s) {
    if (s == null) {
      return "";
    }
    int limit = maxFieldLength;
    StringBuilder b = null;
    int n = Math.min(s.length(), limit);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      boolean control = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029;
      if (control && b == null) {
        b = new StringBuilder(n + 16).append(s, 0, i);
      }
      if (b != null) {
        if (!control) {
          b.append(c);
        } else if (c == '\r') {
          b.append("\\r");
        } else if (c == '\n') {
          b.append("\\n");
        } else if (c == '\t') {
          b.append("\\t");
        } else {
          b.append(String.format("\\u%04x", (int) c));
        }
      }
    }
    String out = b == null ? (n == s.length() ? s : s.substring(0, n)) : b.toString();
    return n < s.length() ? out + "…" : out;
  }

  public static boolean enabled() {
    return LOG.isInfoEnabled();
  }

  public static void websocket(String vhost, int code, String status, String event, JsonObject payload) {
    if (LOG.isInfoEnabled()) {
      LOG.info("websocket[{}]: {} {}; {}", field(vhost), code, status, summary(event, payload));
    }
  }

  public static void backend(String vhost, int code, String status, List<String> frames) {
    if (LOG.isInfoEnabled()) {
      LOG.info("backend[{}]: {} {}; {}", field(vhost), code, status, summary(frames));
    }
  }

  /** The request without its data: event name with only the {@code channel} and {@code event} fields kept. */
  static String summary(String event, JsonObject payload) {
    if (event == null) {
      return "<malformed>";
    }
    JsonObject kept = new JsonObject();
    if (payload != null) {
      for (String key : new String[] {"channel", "event", "trigger"}) {
        if (payload.getValue(key) instanceof String s) {
          kept.put(key, field(s));
        }
      }
      if (payload.containsKey("token")) {
        kept.put("token", MASK);
      }
    }
    // JSON escapes the control characters the fields still hold.
    return new JsonObject().put(field(event), kept).encode();
  }

  /** WBP frames with the identity's token masked and everything after the channel and event elided. */
  static String summary(List<String> frames) {
    List<String> out = new ArrayList<>();
    int i = 0;
    if (!frames.isEmpty() && frames.get(0).indexOf(':') >= 0) {
      String[] parts = frames.get(0).split(":", -1);
      out.add(parts.length == 4 ? field(parts[0] + ":" + parts[1] + ":" + MASK + ":" + parts[3]) : "<identity>");
      i = 1;
      if (i < frames.size() && frames.get(i).isEmpty()) {
        i++;
      }
    }
    if (i < frames.size()) {
      String command = frames.get(i);
      out.add(field(command.length() > 16 ? command.substring(0, 16) + "…" : command));
      // Channel and event names for the commands that have them; never data, uids or patterns.
      int keep = switch (command) {
        case "OC", "CC" -> 1;
        case "BC" -> 2;
        default -> 0;
      };
      for (int k = 1; k <= keep && i + k < frames.size(); k++) {
        out.add(field(frames.get(i + k)));
      }
      if (i + keep + 1 < frames.size()) {
        out.add("…");
      }
    }
    return out.toString();
  }
}
