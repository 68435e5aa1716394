package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/** One open channel of a vhost and its subscribers (every one, presence member or not), by sid. */
final class Channel {
  /**
   * A subscriber as presence shows it: the user id and the data it subscribed with; plus the
   * cluster node its connection is on and its place in joining order.
   */
  record Member(String uid, JsonObject data, boolean hidden, String node, long seq) {
    /** {@code {"uid": U, ...data}} with uid winning over a key of the same name. */
    JsonObject listed() {
      JsonObject j = new JsonObject().put("uid", uid);
      data.forEach(e -> {
        if (!"uid".equals(e.getKey())) {
          j.put(e.getKey(), e.getValue());
        }
      });
      return j;
    }

    /** The member as the replica keeps it (with its sid and channel, see {@link #fromJson}). */
    JsonObject toJson(String sid, String channel) {
      return new JsonObject().put("sid", sid).put("channel", channel).put("uid", uid).put("data", data)
          .put("hidden", hidden).put("node", node).put("seq", seq);
    }

    /**
     * The member as a join or leave announcement shows it: {@code {"uid": U, "channel": C,
     * ...data}}, uid and channel winning over data keys of the same name.
     */
    JsonObject announced(String channel, JsonObject data) {
      JsonObject j = new JsonObject().put("uid", uid).put("channel", channel);
      data.forEach(e -> {
        if (!"uid".equals(e.getKey()) && !"channel".equals(e.getKey())) {
          j.put(e.getKey(), e.getValue());
        }
      });
      return j;
    }

    static Member fromJson(JsonObject j) {
      return new Member(j.getString("uid"), j.getJsonObject("data", new JsonObject()), j.getBoolean("hidden", false),
          j.getString("node"), j.getLong("seq", 0L));
    }
  }

  final String name;
  final Names.ChannelType type;
  final Map<String, Member> subscribers = new LinkedHashMap<>();

  Channel(String name) {
    this.name = name;
    this.type = Names.typeOf(name);
  }

  /**
   * Visible presence members, in joining order, as {@code sid} sees them: without itself (it may
   * be on the channel already when it subscribes again).
   */
  JsonArray presenceList(String sid) {
    JsonArray list = new JsonArray();
    subscribers.forEach((s, m) -> {
      if (!m.hidden() && !s.equals(sid)) {
        list.add(m.listed());
      }
    });
    return list;
  }
}
