package io.webrocket.presence;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Frame;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Presence} through this node's {@link PresenceService} (a local request). Cheap to make.
 * The wire format of the requests is here and in {@link PresenceService#serve}, nowhere else.
 */
public final class PresenceClient implements Presence {
  static final String JOIN = "join";
  static final String LEAVE = "leave";

  private final Vertx vertx;

  public PresenceClient(Vertx vertx) {
    this.vertx = vertx;
  }

  @Override
  public Future<Joined> join(String vhost, String channel, String sid, String uid, JsonObject data, boolean hidden) {
    JsonObject body = new JsonObject().put("vhost", vhost).put("channel", channel).put("sid", sid).put("uid", uid)
        .put("data", data == null ? new JsonObject() : data).put("hidden", hidden);
    return Bus.<JsonObject>request(vertx, Addresses.presence(), JOIN, body).map(m -> decodeJoined(m.body()));
  }

  @Override
  public Future<Void> leave(String vhost, List<String> channels, String sid, JsonObject data) {
    JsonObject body = new JsonObject().put("vhost", vhost).put("channels", new JsonArray(new ArrayList<>(channels)))
        .put("sid", sid).put("data", data);
    return Bus.request(vertx, Addresses.presence(), LEAVE, body).mapEmpty();
  }

  static JsonObject encode(Joined j) {
    JsonArray missed = new JsonArray();
    j.missed().forEach(f -> missed.add(Buffer.buffer(f.wire())));
    return new JsonObject().put("members", j.members()).put("since", j.since())
        .put("announcement", j.announcement() == null ? null : Buffer.buffer(j.announcement().wire()))
        .put("missed", missed).put("missedUpTo", j.missedUpTo());
  }

  static Joined decodeJoined(JsonObject o) {
    List<Frame> missed = new ArrayList<>();
    JsonArray list = o.getJsonArray("missed");
    for (int i = 0; i < list.size(); i++) {
      missed.add(new Frame(list.getBuffer(i).getBytes()));
    }
    Buffer own = o.getBuffer("announcement");
    return new Joined(o.getString("members"), o.getLong("since"), own == null ? null : new Frame(own.getBytes()), missed,
        o.getLong("missedUpTo"));
  }
}
