package io.webrocket.frontend;

import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import io.webrocket.log.AccessLog;
import io.webrocket.protocol.Names;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.regex.PatternSyntaxException;

/**
 * One browser's WebSocket: its sid, authentication, subscriptions, and the WWFP conversation.
 *
 * <p>Messages of one connection are handled one at a time: while a request waits for its
 * registry's reply the socket is paused, so replies come back in the order of the requests.
 */
final class BrowserConnection {
  final String sid = UUID.randomUUID().toString();
  final String vhost;
  final Set<String> channels = new HashSet<>();
  boolean flushPending;
  long lastHeard;
  long unwritableSince;

  private final BrowserSocket socket;
  private final WebSocketEndpoint endpoint;
  private String uid;
  private Permission permission;
  private boolean closing;
  /** onClosed has run: the close frame and the end of the connection both report it. */
  private boolean gone;
  private final io.webrocket.limits.TokenBucket rate;
  /** Pings and pongs from the peer beyond the first few per ping interval; made when first needed. */
  private io.webrocket.limits.TokenBucket controlRate;
  /** Pings and pongs since our last ping: a browser sends one pong per interval, which needs no bucket. */
  private int controlFramesSincePing;

  BrowserConnection(BrowserSocket socket, String vhost, WebSocketEndpoint endpoint) {
    this.socket = socket;
    this.vhost = vhost;
    this.endpoint = endpoint;
    this.lastHeard = System.nanoTime();
    JsonObject limits = endpoint.limits();
    this.rate = new io.webrocket.limits.TokenBucket(limits.getInteger("messagesPerSecond"), limits.getInteger("messagesBurst"));
  }

  /** Gap notices this socket is owed on channels with history; made when first needed. */
  private HistoryGaps historyGaps;

  HistoryGaps historyGaps() {
    if (historyGaps == null) {
      historyGaps = new HistoryGaps(this);
    }
    return historyGaps;
  }

  /** The socket's channel context: frames written there are complete server frames. */
  ChannelHandlerContext channel() {
    return socket.context();
  }

  BrowserSocket socket() {
    return socket;
  }

  void start() {
    send(Wwfp.encode(":connected", new JsonObject().put("sid", sid)));
  }

  /** A binary message: WWFP is text only. */
  void onBinary() {
    if (!closing && withinRate()) {
      fail(Status.BAD_REQUEST, null, null);
    }
  }

  void heard() {
    lastHeard = System.nanoTime();
  }

  /**
   * A ping or pong from the peer, within {@code limits.controlFramesPerSecond} (bursts of
   * {@code limits.controlFramesBurst})? One over it is ignored (no pong, not heard) and counted;
   * more than a full burst of them without a pause closes the socket with 1008.
   */
  boolean controlFrameAllowed() {
    if (controlRate == null && ++controlFramesSincePing <= FREE_CONTROL_FRAMES) {
      return true;
    }
    JsonObject limits = endpoint.limits();
    int perSecond = limits.getInteger("controlFramesPerSecond");
    int burst = limits.getInteger("controlFramesBurst");
    if (controlRate == null) {
      controlRate = new io.webrocket.limits.TokenBucket(perSecond, burst);
    } else {
      controlRate.limit(perSecond, burst);
    }
    if (controlRate.tryTake()) {
      return true;
    }
    endpoint.refused("controlFrames");
    if (controlRate.sustained() && !closing) {
      endpoint.policyClose("controlFrames");
      socket.policyViolation("too many control frames");
    }
    return false;
  }

  /**
   * Control frames per ping interval that need no token bucket (bounded by the interval, so by
   * the rate limit's own order of magnitude): the pong a browser answers each ping with, and a
   * spare. Saves every well-behaved socket the bucket's memory.
   */
  private static final int FREE_CONTROL_FRAMES = 2;

  /** Our ping is being sent (once per ping interval). */
  void pinged() {
    controlFramesSincePing = 0;
  }

  /** The fragmented message under way took longer than {@code websocket.messageTimeoutMs}. */
  void messageTimedOut() {
    if (!closing) {
      endpoint.policyClose("messageTimeout");
      shutdown((short) 1008, "message timeout");
    }
  }

  /** Writes one message to this socket alone. */
  void send(String json) {
    sendEncoded(Buffer.buffer(json));
  }

  void sendEncoded(Buffer json) {
    if (socket.closeSent()) {
      return; // nothing may follow a close frame
    }
    ByteBuf frame = Outbound.textFrame(json);
    try {
      reply(frame);
    } finally {
      frame.release();
    }
  }

  /**
   * Writes a complete frame (not consumed) to this socket alone. If that leaves the socket over
   * its outbound bound, reading from it pauses until it drains (counted), and the slow-consumer
   * clock runs: a peer that never reads is closed with 1008 like one that does not keep up with
   * broadcasts, having made the broker hold at most the bound and the replies to one read.
   */
  void reply(ByteBuf frame) {
    if (!endpoint.outbound().write(this, frame)) {
      endpoint.readsPaused(vhost);
      socket.throttle();
    }
  }

  /**
   * A pong goes out only within the outbound bound; over it, it is dropped and counted (RFC 6455
   * 5.5.3 lets a pong answer only the latest ping), and the slow-consumer clock runs.
   */
  void pong(ByteBuf frame) {
    if (!endpoint.outbound().writeIfRoom(this, frame)) {
      endpoint.pongDropped(vhost);
    }
  }

  /** The message being handled, for the access log line its outcome writes. */
  private String event;
  private JsonObject payload;

  private void fail(Status status) {
    fail(status, event, payload);
  }

  private void fail(Status status, String event, JsonObject payload) {
    AccessLog.websocket(vhost, status.code, status.text, event, payload);
    if (status == Status.UNAUTHORIZED) {
      endpoint.metrics().authFailures(vhost, "websocket").increment();
    }
    send(Wwfp.error(status));
  }

  private void logged(int code, String text, String event, JsonObject payload) {
    AccessLog.websocket(vhost, code, text, event, payload);
  }

  void onText(String text) {
    if (closing) {
      return;
    }
    if (overLimit(text)) {
      shutdown((short) 1009, "message too big");
      return;
    }
    if (!withinRate()) {
      return;
    }
    Wwfp.Message m;
    try {
      m = Wwfp.decode(text);
    } catch (Wwfp.MalformedException e) {
      fail(Status.BAD_REQUEST, null, null);
      return;
    }
    JsonObject p = m.payload();
    event = m.event();
    payload = p; // for the access log, which reads only names (channel, event), never data
    switch (m.event()) {
      case "auth" -> auth(p);
      case "subscribe" -> subscribe(p);
      case "unsubscribe" -> unsubscribe(p);
      case "broadcast" -> broadcast(p);
      case "trigger" -> trigger(p);
      case "pong" -> {}
      case "close" -> close(p);
      default -> fail(Status.BAD_REQUEST);
    }
  }

  /** Excess messages get 429; a sender that keeps flooding is closed with 1008 (policy violation). */
  private boolean withinRate() {
    JsonObject limits = endpoint.limits();
    rate.limit(limits.getInteger("messagesPerSecond"), limits.getInteger("messagesBurst"));
    if (rate.tryTake()) {
      return true;
    }
    if (rate.sustained()) {
      shutdown((short) 1008, "too many requests");
    } else {
      fail(Status.TOO_MANY_REQUESTS, null, null);
    }
    return false;
  }

  /**
   * The configured limit, checked here as well as by the server (whose limit is fixed at start)
   * so that a lowered limit applies live. Counted in UTF-8 bytes, computed only when in doubt.
   */
  private boolean overLimit(String text) {
    int limit = endpoint.maxFrameSize();
    if (text.length() > limit) {
      return true;
    }
    if ((long) text.length() * 3 <= limit) {
      return false;
    }
    return text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > limit;
  }

  /** Runs a registry request with the socket paused, so the next message waits for this one. */
  private void await(Future<?> request) {
    socket.pause();
    request.onComplete(x -> {
      if (!closing) {
        socket.resume();
      }
    });
  }

  /** The vhost's registry (typed; over the event bus). */
  private io.webrocket.vhost.Registry registry() {
    return endpoint.registry(vhost);
  }

  /** The channel field if it is a string; any string is a name, so an empty one is 451, not 400. */
  private static String channelName(JsonObject p) {
    return p.getValue("channel") instanceof String s ? s : null;
  }

  private static String string(JsonObject p, String key) {
    Object v = p.getValue(key);
    return v instanceof String s && !s.isEmpty() ? s : null;
  }

  /** An optional object field: null if absent, or the value; BAD marks a present non-object. */
  private static final JsonObject BAD = new JsonObject();

  private static JsonObject object(JsonObject p, String key) {
    Object v = p.getValue(key);
    if (v == null) {
      return null;
    }
    return v instanceof JsonObject o ? o : BAD;
  }

  // ---- auth ----

  private void auth(JsonObject p) {
    String token = string(p, "token");
    if (token == null) {
      fail(Status.BAD_REQUEST);
      return;
    }
    if (permission != null) {
      // Authenticating again first drops everything the old identity allowed.
      leaveAll(null);
      uid = null;
      permission = null;
    }
    JsonObject logPayload = payload;
    await(endpoint.authenticate(vhost, token).onComplete(
        grant -> {
          try {
            permission = Permission.compile(grant.permission());
          } catch (PatternSyntaxException e) {
            fail(Status.INTERNAL_ERROR);
            return;
          }
          uid = grant.uid();
          logged(201, "Authenticated", "auth", logPayload);
          send(Wwfp.encode(":authenticated", new JsonObject()));
        },
        err -> fail(Bus.statusOf(err, Status.UNAUTHORIZED), "auth", logPayload)));
  }

  /**
   * Does the permission cover {@code channel} (a valid name, so at most 128 characters)? A match
   * that takes more than {@code limits.permissionMatchSteps} is abandoned: not allowed, counted.
   */
  private boolean allowed(String channel) {
    if (permission == null) {
      return false;
    }
    return switch (permission.match(channel, endpoint.limits().getInteger("permissionMatchSteps"))) {
      case MATCH -> true;
      case NO_MATCH -> false;
      case ABANDONED -> {
        endpoint.refused("permissionMatch");
        yield false;
      }
    };
  }

  /**
   * A private or presence channel this connection may not join: whether it exists is none of
   * its business, so it is answered without asking the registry (see docs/security.md).
   */
  private boolean foreign(String channel) {
    return Names.typeOf(channel).needsPermission() && !allowed(channel);
  }

  /** The presence data of a subscribe over {@code limits.presenceDataBytes} (its JSON, in UTF-8)? */
  private boolean presenceDataTooBig(JsonObject data) {
    if (data == null || data.isEmpty()) {
      return false;
    }
    int limit = endpoint.limits().getInteger("presenceDataBytes");
    return data.toBuffer().length() > limit;
  }

  // ---- subscriptions ----

  private void subscribe(JsonObject p) {
    String name = channelName(p);
    JsonObject data = object(p, "data");
    Object hidden = p.getValue("hidden");
    HistoryStreams.Since since = since(p.getValue("since"));
    if (name == null || data == BAD || (hidden != null && !(hidden instanceof Boolean)) || since == BAD_SINCE) {
      fail(Status.BAD_REQUEST);
      return;
    }
    if (!Names.isValidChannel(name)) {
      fail(Status.INVALID_CHANNEL_NAME);
      return;
    }
    if (!channels.contains(name) && channels.size() >= endpoint.limits().getInteger("subscriptionsPerConnection")) {
      fail(Status.TOO_MANY_REQUESTS);
      return;
    }
    if (presenceDataTooBig(data)) {
      endpoint.refused("presenceData");
      fail(Status.BAD_REQUEST);
      return;
    }
    Names.ChannelType type = Names.typeOf(name);
    if (foreign(name)) {
      // Answered alike whether the channel exists or not: an anonymous browser learns nothing.
      fail(Status.FORBIDDEN);
      return;
    }
    JsonObject logPayload = payload;
    // A channel with history: the client joins at an offset (recovering from since, if given).
    // Already on it, only a since changes anything: the client leaves the live set and catches up.
    io.webrocket.history.HistorySettings.Policy history = endpoint.historyStreams().histories().policy(vhost, name);
    boolean rejoin = history != null && channels.contains(name) && since != null;
    if (history != null && channels.contains(name) && since == null) {
      history = null;
    }
    if (rejoin) {
      endpoint.subscribers().remove(this, name);
      endpoint.historyStreams().detach(this, name);
    }
    Future<io.webrocket.vhost.Registry.Joined> joining;
    if (type == Names.ChannelType.PRESENCE) {
      // Presence members are the vhost's registry's: it lists and announces them.
      joining = registry().subscribe(new io.webrocket.vhost.Registry.Join(sid, name, uid,
          data == null ? new JsonObject() : data, Boolean.TRUE.equals(hidden), endpoint.nodeId()));
    } else {
      // Open and private channels: the subscription is this endpoint's alone, checked against
      // this node's view of the vhost (a channel it does not know yet is asked of the registry).
      joining = endpoint.channelOpen(vhost, name)
          .map(open -> new io.webrocket.vhost.Registry.Joined(null, null));
    }
    io.webrocket.history.HistorySettings.Policy policy = history;
    HistoryStreams.Position[] position = new HistoryStreams.Position[1];
    if (policy != null) {
      joining = joining.compose(r -> endpoint.historyStreams().position(vhost, name, policy, since)
          .map(at -> {
            position[0] = at;
            return r;
          }));
    }
    await(joining.onComplete(
        r -> {
          if (closing) {
            // The socket went away while the registry added it, after it had left everything
            // else: it leaves this channel too, or it would stay listed there for good.
            if (type == Names.ChannelType.PRESENCE) {
              registry().leaveAll(sid, java.util.List.of(name), null);
            }
            return;
          }
          boolean fresh = channels.add(name);
          if (fresh && position[0] == null) {
            endpoint.subscribers().add(this, name);
          }
          logged(202, "Subscribed", "subscribe", logPayload);
          JsonObject subscribed = new JsonObject().put("channel", name);
          if (type.needsPermission()) {
            subscribed.put("uid", uid);
          }
          if (type == Names.ChannelType.PRESENCE) {
            subscribed.put("subscribers", r.members() == null ? new JsonArray() : r.members());
          }
          if (position[0] != null) {
            position[0].describe(subscribed);
          } else if (since != null && policy == null && fresh) {
            subscribed.put("recovered", false); // no history to recover from
          }
          send(Wwfp.encode(":subscribed", subscribed));
          if (position[0] != null) {
            endpoint.historyStreams().attach(this, name, position[0]);
          }
          Buffer joined = r.announcement();
          if (joined != null) {
            sendEncoded(joined);
          }
        },
        err -> {
          if (rejoin && !closing && channels.contains(name)) {
            endpoint.subscribers().add(this, name); // the failed recovery leaves it where it was
          }
          fail(Bus.statusOf(err, Status.CHANNEL_NOT_FOUND), "subscribe", logPayload);
        }));
  }

  private static final HistoryStreams.Since BAD_SINCE = new HistoryStreams.Since(-1, "");

  /** A subscribe's {@code since}: absent (null), {@code {"offset": N >= 0, "epoch": E}}, or bad. */
  private static HistoryStreams.Since since(Object v) {
    if (v == null) {
      return null;
    }
    if (v instanceof JsonObject o && o.getValue("offset") instanceof Number n && n.doubleValue() == n.longValue()
        && n.longValue() >= 0 && o.getValue("epoch") instanceof String e && e.length() <= 64) {
      return new HistoryStreams.Since(n.longValue(), e);
    }
    return BAD_SINCE;
  }

  private void unsubscribe(JsonObject p) {
    String name = channelName(p);
    JsonObject data = object(p, "data");
    if (name == null || data == BAD) {
      fail(Status.BAD_REQUEST);
      return;
    }
    if (!Names.isValidChannel(name)) {
      fail(Status.INVALID_CHANNEL_NAME);
      return;
    }
    boolean wasOn = channels.remove(name);
    if (wasOn) {
      endpoint.subscribers().remove(this, name);
      endpoint.historyStreams().detach(this, name);
    } else if (foreign(name)) {
      fail(Status.NOT_SUBSCRIBED); // whether it exists or not
      return;
    }
    JsonObject logPayload = payload;
    Future<Void> leaving;
    if (Names.typeOf(name) == Names.ChannelType.PRESENCE) {
      leaving = registry().unsubscribe(sid, name, data);
    } else {
      // Not on it: tell apart a missing channel (454) from one it is not subscribed to (453).
      leaving = wasOn ? Future.succeededFuture()
          : endpoint.channelOpen(vhost, name).compose(open -> Future.failedFuture(Status.NOT_SUBSCRIBED.failure()));
    }
    await(leaving.onComplete(
        reply -> {
          logged(203, "Unsubscribed", "unsubscribe", logPayload);
          send(Wwfp.encode(":unsubscribed", new JsonObject().put("channel", name)));
        },
        err -> fail(Bus.statusOf(err, Status.CHANNEL_NOT_FOUND), "unsubscribe", logPayload)));
  }

  // ---- broadcasts and triggers ----

  private void broadcast(JsonObject p) {
    String name = channelName(p);
    String event = string(p, "event");
    JsonObject data = object(p, "data");
    Object triggerValue = p.getValue("trigger");
    if (name == null || event == null || event.startsWith(":") || data == BAD
        || (triggerValue != null && !(triggerValue instanceof String s && !s.isEmpty()))) {
      fail(Status.BAD_REQUEST);
      return;
    }
    if (!Names.isValidChannel(name)) {
      fail(Status.INVALID_CHANNEL_NAME);
      return;
    }
    if (!channels.contains(name)) {
      if (foreign(name)) {
        fail(Status.NOT_SUBSCRIBED); // whether it exists or not
        return;
      }
      // Not subscribed: tell apart a missing channel (454) from a foreign one (453).
      JsonObject logPayload = payload;
      await(endpoint.channelOpen(vhost, name).onComplete(
          ok -> fail(Status.NOT_SUBSCRIBED, "broadcast", logPayload),
          err -> fail(Bus.statusOf(err, Status.CHANNEL_NOT_FOUND), "broadcast", logPayload)));
      return;
    }
    String trigger = (String) triggerValue;
    if (trigger != null && permission == null) {
      fail(Status.FORBIDDEN);
      return;
    }
    JsonObject payload = data == null ? new JsonObject() : data;
    JsonObject triggerData = trigger == null ? null : payload.copy();
    logged(204, "Broadcasted", "broadcast", this.payload);
    endpoint.broadcasts(vhost).increment();
    io.webrocket.history.HistorySettings.Policy history = endpoint.historyStreams().histories().policy(vhost, name);
    if (history != null) {
      endpoint.historyAppender().publish(vhost, name, history,
          io.webrocket.history.OffsetFrames.body(event, payload, name, sid));
    } else {
      endpoint.publish(vhost, name, Frame.text(Wwfp.userEvent(event, payload, name, sid)));
    }
    if (trigger != null) {
      sendTrigger(trigger, triggerData);
    }
  }

  private void trigger(JsonObject p) {
    String event = string(p, "event");
    JsonObject data = object(p, "data");
    if (event == null || data == BAD) {
      fail(Status.BAD_REQUEST);
      return;
    }
    if (permission == null) {
      fail(Status.FORBIDDEN);
      return;
    }
    sendTrigger(event, data == null ? new JsonObject() : data);
  }

  /** Exactly one worker of the vhost (on any node) gets {@code {"EVENT": {...data, "sid": S}}}. */
  private void sendTrigger(String event, JsonObject data) {
    data.put("sid", sid);
    String tr = new JsonObject().put(event, data).encode();
    String logEvent = this.event;
    JsonObject logPayload = this.payload;
    endpoint.vertx().eventBus()
        .request(Addresses.workers(vhost), tr, new DeliveryOptions().setSendTimeout(endpoint.triggerTimeoutMs()))
        .onComplete(ok -> {
          endpoint.metrics().triggers(vhost).increment();
          if ("trigger".equals(logEvent)) {
            logged(205, "Triggered", logEvent, logPayload);
          }
        }, err -> {
          endpoint.metrics().triggersRefused(vhost).increment();
          if (!closing) {
            fail(Status.SERVICE_UNAVAILABLE, logEvent, logPayload);
          }
        });
  }

  // ---- closing ----

  private void close(JsonObject data) {
    logged(207, "Closed", "close", null);
    closing = true;
    leaveAll(data);
    send(Wwfp.encode(":closed", new JsonObject().put("sid", sid)));
    endpoint.outbound().flushNow(this);
    socket.close((short) 1000, null);
  }

  /** The socket is gone (any reason): it leaves every channel; presence members are announced. */
  void onClosed(JsonObject data) {
    if (gone) {
      return;
    }
    gone = true;
    closing = true;
    leaveAll(data);
    endpoint.closed(this);
  }

  private void leaveAll(JsonObject data) {
    if (channels.isEmpty()) {
      return;
    }
    java.util.List<String> presence = new java.util.ArrayList<>();
    for (String c : channels) {
      endpoint.subscribers().remove(this, c);
      if (Names.typeOf(c) == Names.ChannelType.PRESENCE) {
        presence.add(c);
      }
    }
    channels.clear();
    if (!presence.isEmpty()) {
      registry().leaveAll(sid, presence, data);
    }
  }

  /** Closes the socket with a WebSocket status, e.g. when its vhost is deleted. */
  void shutdown(short status, String reason) {
    if (beginClosing()) {
      socket.close(status, reason);
    }
  }

  /** Like {@link #shutdown} but ends the connection at once: the node is stopping. */
  void shutdownNow(short status, String reason) {
    beginClosing();
    socket.closeNow(status, reason);
  }

  /**
   * Leaves every channel now and hands what is queued to the kernel, so that nothing follows
   * the close frame: the close handshake can take as long as the closing timeout, and a peer
   * that stopped answering pings will not answer the close either. False if already closing.
   */
  private boolean beginClosing() {
    if (closing) {
      return false;
    }
    closing = true;
    leaveAll(null);
    endpoint.outbound().flushNow(this);
    return true;
  }

  boolean closing() {
    return closing;
  }

  boolean writable() {
    return socket.writable();
  }
}
