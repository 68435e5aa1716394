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
 */
public final class AccessLog {
  private static final Logger LOG = LoggerFactory.getLogger("webrocket.access");
  private static final String MASK = "***";

  private AccessLog() {}

  public static boolean enabled() {
    return LOG.isInfoEnabled();
  }

  public static void websocket(String vhost, int code, String status, String event, JsonObject payload) {
    if (LOG.isInfoEnabled()) {
      LOG.info("websocket[{}]: {} {}; {}", vhost, code, status, summary(event, payload));
    }
  }

  public static void backend(String vhost, int code, String status, List<String> frames) {
    if (LOG.isInfoEnabled()) {
      LOG.info("backend[{}]: {} {}; {}", vhost == null ? "" : vhost, code, status, summary(frames));
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
          kept.put(key, s);
        }
      }
      if (payload.containsKey("token")) {
        kept.put("token", MASK);
      }
    }
    return new JsonObject().put(event, kept).encode();
  }

  /** WBP frames with the identity's token masked and everything after the channel and event elided. */
  static String summary(List<String> frames) {
    List<String> out = new ArrayList<>();
    int i = 0;
    if (!frames.isEmpty() && frames.get(0).indexOf(':') >= 0) {
      String[] parts = frames.get(0).split(":", -1);
      out.add(parts.length == 4 ? parts[0] + ":" + parts[1] + ":" + MASK + ":" + parts[3] : "<identity>");
      i = 1;
      if (i < frames.size() && frames.get(i).isEmpty()) {
        i++;
      }
    }
    if (i < frames.size()) {
      String command = frames.get(i);
      out.add(command.length() > 16 ? command.substring(0, 16) + "…" : command);
      // Channel and event names for the commands that have them; never data, uids or patterns.
      int keep = switch (command) {
        case "OC", "CC" -> 1;
        case "BC" -> 2;
        default -> 0;
      };
      for (int k = 1; k <= keep && i + k < frames.size(); k++) {
        out.add(frames.get(i + k));
      }
      if (i + keep + 1 < frames.size()) {
        out.add("…");
      }
    }
    return out.toString();
  }
}
