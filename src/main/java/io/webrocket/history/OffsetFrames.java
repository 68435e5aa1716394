package io.webrocket.history;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;
import java.nio.charset.StandardCharsets;

/**
 * The WWFP side of history: events of a channel with history carry {@code "offset"} in their
 * object, next to {@code "channel"} (2012 clients ignore unknown keys). The event is encoded once
 * without its offset (that is what the history keeps, since the offset is given by the append),
 * and the offset is spliced in as bytes — {@code ,"offset":N} before the closing {@code }}} — so
 * neither a live broadcast nor a replay encodes JSON again.
 */
public final class OffsetFrames {
  private OffsetFrames() {}

  /**
   * Encodes a user event for a channel with history: like {@link Wwfp#userEvent} and with any
   * {@code offset} key of the data removed (the broker's offset overwrites it, as channel and sid
   * overwrite theirs). Takes ownership of {@code data}.
   */
  public static byte[] body(String event, JsonObject data, String channel, String sid) {
    JsonObject payload = data == null ? new JsonObject() : data;
    payload.remove("offset");
    return Wwfp.userEvent(event, payload, channel, sid).getBytes();
  }

  /** The complete WebSocket frame of {@code body} at {@code offset}. */
  public static Frame frame(byte[] body, long offset) {
    return Frame.text(json(body, offset));
  }

  /** The event's JSON at {@code offset}, as subscribers get it. */
  public static Buffer json(byte[] body, long offset) {
    byte[] tail = (",\"offset\":" + offset + "}}").getBytes(StandardCharsets.US_ASCII);
    Buffer json = Buffer.buffer(body.length + tail.length - 2);
    return json.appendBytes(body, 0, body.length - 2).appendBytes(tail);
  }

  /**
   * A history read as the admin API and the WBP {@code HI} command give it:
   * {@code {"channel", "settings": {size, lifetimeMs, maxBytes}, "epoch", "oldest", "offset", "events": [...]}}
   * ({@code offset}: the last offset given; {@code oldest}: the oldest still kept).
   */
  public static io.vertx.core.json.JsonObject describe(String channel, HistorySettings.Policy policy, ChannelHistory.Page page,
      boolean withEvents) {
    io.vertx.core.json.JsonObject o = new io.vertx.core.json.JsonObject().put("channel", channel)
        .put("settings", policy.toJson()).put("epoch", page.epoch()).put("oldest", page.oldest()).put("offset", page.top());
    if (withEvents) {
      io.vertx.core.json.JsonArray events = new io.vertx.core.json.JsonArray();
      for (ChannelHistory.Entry e : page.entries()) {
        events.add(new io.vertx.core.json.JsonObject(json(e.body(), e.offset())));
      }
      o.put("events", events);
    }
    return o;
  }

  /**
   * {@code {":gap": {"channel": C, "offset": N, "epoch": E}}}: events of C from offset N of epoch
   * E on were not delivered to this socket (dropped for a slow consumer, or lost with the history).
   */
  public static Frame gap(String channel, long offset, String epoch) {
    return Frame.text(Wwfp.encodeBuffer(":gap",
        new JsonObject().put("channel", channel).put("offset", offset).put("epoch", epoch)));
  }
}
