package io.webrocket.vhost;

import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import io.webrocket.vhost.Registry.ChannelInfo;
import io.webrocket.vhost.Registry.Info;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's wire format on {@link Addresses#vhost(String)}: action names, request bodies
 * and replies, in one place for both sides. {@link RegistryClient} encodes calls with the
 * {@code encode*}/{@code decode*} helpers; {@link VhostRegistry} hands each request to
 * {@link #serve} with itself as the {@link Registry}.
 *
 * <p>Bodies and replies are JSON objects.
 */
final class RegistryActions {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryActions.class);

  static final String EXISTS = "exists";
  static final String INFO = "info";
  static final String SET_TOKEN = "setToken";
  static final String CHANNEL_EXISTS = "channelExists";
  static final String IDENTIFY = "identify";
  static final String CHECK_BROADCAST = "checkBroadcast";
  static final String ISSUE_ACCESS_TOKEN = "issueAccessToken";
  static final String OPEN_CHANNEL = "openChannel";
  static final String CLOSE_CHANNEL = "closeChannel";
  static final String CLOSE_CHANNELS = "closeChannels";
  static final String CHANNELS = "channels";
  static final String CHANNEL = "channel";
  static final String WORKERS = "workers";

  private RegistryActions() {}

  /** A request no registry understands (an unknown action or a malformed body). */
  private static final class Malformed extends RuntimeException {
    Malformed() {
      super("malformed registry request", null, false, false);
    }
  }

  /**
   * Runs one request against {@code registry} and replies when its future completes. A failure
   * with a status goes back as that status; anything else is logged (without the body: it may
   * hold tokens) and answered {@code INTERNAL_ERROR}.
   */
  static void serve(Registry registry, Message<Object> msg) {
    Future<Object> reply;
    try {
      reply = dispatch(registry, Bus.actionOf(msg), msg);
    } catch (Malformed | ClassCastException | NullPointerException | IllegalArgumentException e) {
      // A malformed request from a peer verticle: answer it rather than let it time out.
      Bus.fail(msg, Status.BAD_REQUEST);
      return;
    }
    reply.onComplete(msg::reply, err -> {
      if (err instanceof ReplyException re) {
        msg.fail(re.failureCode(), re.getMessage());
      } else {
        LOG.error("registry {} failed: {}", Bus.actionOf(msg), err.toString());
        Bus.fail(msg, Status.INTERNAL_ERROR);
      }
    });
  }

  private static Future<Object> dispatch(Registry r, String action, Message<Object> msg) {
    JsonObject b = msg.body() == null ? new JsonObject() : (JsonObject) msg.body();
    Future<?> f = switch (action) {
      case EXISTS -> r.exists();
      case INFO -> r.info().map(RegistryActions::encode);
      case SET_TOKEN -> r.setToken(b.getString("token"));
      case CHANNEL_EXISTS -> r.channelExists(b.getString("channel"));
      case IDENTIFY -> r.identify(b.getString("token"));
      case CHECK_BROADCAST -> r.checkBroadcast(b.getString("token"), b.getString("channel"));
      case ISSUE_ACCESS_TOKEN -> r.issueAccessToken(b.getString("token"), b.getString("uid"), b.getString("permission"))
          .map(t -> new JsonObject().put("accessToken", t));
      case OPEN_CHANNEL -> r.openChannel(b.getString("token"), b.getString("channel"),
          Registry.IfOpen.valueOf(b.getString("ifOpen")));
      case CLOSE_CHANNEL -> r.closeChannel(b.getString("token"), b.getString("channel"));
      case CLOSE_CHANNELS -> r.closeChannels();
      case CHANNELS -> r.channels().map(list -> {
        JsonArray a = new JsonArray();
        list.forEach(c -> a.add(encode(c)));
        return new JsonObject().put("channels", a);
      });
      case CHANNEL -> r.channel(b.getString("channel")).map(RegistryActions::encode);
      case WORKERS -> r.workers().map(ids -> new JsonObject().put("workers", new JsonArray(ids)));
      default -> throw new Malformed();
    };
    return f.map(x -> x);
  }

  // ---- request and reply records as JSON, for both sides ----

  static DeliveryOptions options(String action) {
    return Bus.action(action);
  }

  static JsonObject encode(Info i) {
    return new JsonObject().put("path", i.path()).put("accessToken", i.accessToken()).put("channels", i.channels());
  }

  static Info decodeInfo(JsonObject j) {
    return new Info(j.getString("path"), j.getString("accessToken"), j.getInteger("channels"));
  }

  static JsonObject encode(ChannelInfo c) {
    return new JsonObject().put("name", c.name()).put("subscribers", c.subscribers());
  }

  static ChannelInfo decodeChannel(JsonObject j) {
    return new ChannelInfo(j.getString("name"), j.getInteger("subscribers"));
  }

  static List<ChannelInfo> decodeChannels(JsonObject j) {
    List<ChannelInfo> list = new ArrayList<>();
    j.getJsonArray("channels").forEach(o -> list.add(decodeChannel((JsonObject) o)));
    return list;
  }

  static List<String> strings(JsonArray a) {
    List<String> list = new ArrayList<>();
    if (a != null) {
      a.forEach(o -> list.add((String) o));
    }
    return list;
  }
}
