package io.webrocket.config;

import io.vertx.core.json.JsonObject;

/**
 * The {@code presence} section: how a node puts the presence announcements of a channel back in
 * order (see {@code presence.PresenceStreams}); applies live.
 *
 * @param gapMs how long a missing announcement is waited for before the ones after it go on
 *     (it was lost with the node that made the change)
 * @param heldPerChannel announcements a node holds per channel: arrived ahead of a missing one,
 *     or kept for a join under way; beyond it the oldest gap is skipped or the oldest kept one
 *     dropped (counted in {@code webrocket_presence_dropped_total})
 */
public record PresenceSettings(long gapMs, int heldPerChannel) {

  public static JsonObject defaults() {
    return new JsonObject().put("gapMs", 2_000L).put("heldPerChannel", 4_096);
  }

  static PresenceSettings parse(Section s) {
    return new PresenceSettings(s.number("gapMs", 10, 600_000), s.integer("heldPerChannel", 16, 1_000_000));
  }
}
