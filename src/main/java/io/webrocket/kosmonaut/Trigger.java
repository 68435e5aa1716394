package io.webrocket.kosmonaut;

import java.util.Collections;
import java.util.Map;

/**
 * An event a browser triggered (WWFP {@code trigger}, or {@code broadcast} with {@code trigger}),
 * delivered to exactly one worker of the vhost. On the wire it is {@code TR} with the frame
 * {@code {"EVENT": {...data, "sid": SID}}}.
 */
public final class Trigger {
  private final String event;
  private final Map<String, Object> data;
  private final String sid;
  private final String json;

  private Trigger(String event, Map<String, Object> data, String sid, String json) {
    this.event = event;
    this.data = data;
    this.sid = sid;
    this.json = json;
  }

  /** Parses a {@code TR} frame; IllegalArgumentException if it is not one object with one key whose value is an object. */
  static Trigger parse(String frame) {
    Map<String, Object> outer = Json.readObject(frame);
    if (outer.size() != 1) {
      throw new IllegalArgumentException("a trigger is one {\"EVENT\": {...}} object");
    }
    Map.Entry<String, Object> e = outer.entrySet().iterator().next();
    if (!(e.getValue() instanceof Map<?, ?>)) {
      throw new IllegalArgumentException("a trigger's payload is an object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> data = (Map<String, Object>) e.getValue();
    Object sid = data.remove("sid");
    return new Trigger(e.getKey(), Collections.unmodifiableMap(data), sid == null ? null : sid.toString(), frame);
  }

  /** The event name the browser gave. */
  public String event() {
    return event;
  }

  /** The data the browser sent (without {@code sid}), read-only. */
  public Map<String, Object> data() {
    return data;
  }

  /** The session id ({@code :connected}'s {@code sid}) of the browser connection that triggered it. */
  public String sid() {
    return sid;
  }

  /** The whole trigger as it came: {@code {"EVENT": {...data, "sid": SID}}}. */
  public String json() {
    return json;
  }

  @Override
  public String toString() {
    return "Trigger(" + json + ")";
  }
}
