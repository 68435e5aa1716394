package io.webrocket.frontend;

import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import io.webrocket.log.AccessLog;
import io.webrocket.protocol.Names;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.PatternSyntaxException;

/**
 * The WWFP session of one browser's WebSocket: its sid, authentication, subscriptions, and the
 * WWFP conversation (the request handlers below). It talks to its socket through
 * {@link Transport}, to its vhost through {@link Vhosts} (the typed registry client, the node's
 * view, tokens, fan-out) and to its endpoint instance through {@link Sessions} (subscriber
 * index, limits, meters); the transport delivers to it through {@link TransportEvents}.
 *
 * <p>Messages of one connection are handled one at a time: while a request waits for its
 * registry's reply the socket is paused, so replies come back in the order of the requests.
 */
final class BrowserConnection implements TransportEvents {
  final String sid = UUID.randomUUID().toString();
  final String vhost;
  /** Its channels; changed by this session only (see {@link #channelClosed}), read by the subscriber index. */
  final Set<String> channels = new HashSet<>();
  /**
   * Its frame socket, for the endpoint instance's fan-out writer and liveness check; the session
   * itself uses the same socket only as its {@link Transport} ({@link #socket}).
   */
  final BrowserSocket wire;
  /**
   * Per presence channel, the sequence number its member list was made at: only announcements
   * numbered after it are written to this socket (see {@code FanoutWriter.deliverPresence}).
   */
  final java.util.Map<String, Long> presenceSince = new java.util.HashMap<>();

  private final Transport socket;
  private final Sessions sessions;
  private final Vhosts vhosts;
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

  BrowserConnection(BrowserSocket socket, String vhost, Sessions sessions, Vhosts vhosts) {
    this.wire = socket;
    this.socket = socket;
    this.vhost = vhost;
    this.sessions = sessions;
    this.vhosts = vhosts;
    io.webrocket.config.LimitsSettings limits = sessions.limits();
    this.rate = new io.webrocket.limits.TokenBucket(limits.messagesPerSecond(), limits.messagesBurst());
  }

  /** Gap notices this socket is owed on channels with history; made when first needed. */
  private HistoryGaps historyGaps;

  HistoryGaps historyGaps() {
    if (historyGaps == null) {
      historyGaps = new HistoryGaps(this);
    }
    return historyGaps;
  }

  @Override
  public void opened() {
    send(Wwfp.encode(":connected", new JsonObject().put("sid", sid)));
  }

  /** A binary message: WWFP is text only. */
  @Override
  public void onBinary() {
    if (!closing && withinRate()) {
      fail(Status.BAD_REQUEST, null, null);
    }
  }

  /**
   * A ping or pong from the peer, within {@code limits.controlFramesPerSecond} (bursts of
   * {@code limits.controlFramesBurst})? One over it is ignored (no pong, not heard) and counted;
   * more than a full burst of them without a pause closes the socket with 1008.
   */
  @Override
  public boolean controlFrameAllowed() {
    if (controlRate == null && ++controlFramesSincePing <= FREE_CONTROL_FRAMES) {
      return true;
    }
    io.webrocket.config.LimitsSettings limits = sessions.limits();
    int perSecond = limits.controlFramesPerSecond();
    int burst = limits.controlFramesBurst();
    if (controlRate == null) {
      controlRate = new io.webrocket.limits.TokenBucket(perSecond, burst);
    } else {
      controlRate.limit(perSecond, burst);
    }
    if (controlRate.tryTake()) {
      return true;
    }
    sessions.refused("controlFrames");
    if (controlRate.sustained() && !closing) {
      sessions.policyClose("controlFrames");
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
  @Override
  public void messageTimedOut() {
    if (!closing) {
      sessions.policyClose("messageTimeout");
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
    if (!socket.reply(frame)) {
      sessions.readsPaused(vhost);
      socket.throttle();
    }
  }

  /**
   * A pong goes out only within the outbound bound; over it, it is dropped and counted (RFC 6455
   * 5.5.3 lets a pong answer only the latest ping), and the slow-consumer clock runs.
   */
  @Override
  public void pong(ByteBuf frame) {
    if (!socket.replyIfRoom(frame)) {
      sessions.pongDropped(vhost);
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
      sessions.metrics().authFailures(vhost, "websocket").increment();
    }
    send(Wwfp.error(status));
  }

  private void logged(int code, String text, String event, JsonObject payload) {
    AccessLog.websocket(vhost, code, text, event, payload);
  }

  @Override
  public void onText(String text) {
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
    io.webrocket.config.LimitsSettings limits = sessions.limits();
    rate.limit(limits.messagesPerSecond(), limits.messagesBurst());
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
    int limit = sessions.maxFrameSize();
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
    await(vhosts.authenticate(vhost, token).onComplete(
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
    return switch (permission.match(channel, sessions.limits().permissionMatchSteps())) {
      case MATCH -> true;
      case NO_MATCH -> false;
      case ABANDONED -> {
        sessions.refused("permissionMatch");
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
    int limit = sessions.limits().presenceDataBytes();
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
    if (!channels.contains(name) && channels.size() >= sessions.limits().subscriptionsPerConnection()) {
      fail(Status.TOO_MANY_REQUESTS);
      return;
    }
    if (presenceDataTooBig(data)) {
      sessions.refused("presenceData");
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
    io.webrocket.history.HistorySettings.Policy history = sessions.historyStreams().histories().policy(vhost, name);
    boolean rejoin = history != null && channels.contains(name) && since != null;
    if (history != null && channels.contains(name) && since == null) {
      history = null;
    }
    if (rejoin) {
      sessions.subscribers().remove(this, name);
      sessions.historyStreams().detach(this, name);
    }
    boolean presenceChannel = type == Names.ChannelType.PRESENCE;
    // The channel is checked against this node's view of the vhost (a channel it does not know
    // yet is asked of the registry). Open and private channels: the subscription is this
    // endpoint's alone. Presence: the member joins the cluster's presence grid too.
    // Announcements reaching this instance from now until the answer are kept for this join.
    PresenceJoins.Start window = presenceChannel ? sessions.presenceJoins().begin(vhost, name) : null;
    Future<io.webrocket.presence.Presence.Joined> joining = vhosts.channelOpen(vhost, name).compose(open -> presenceChannel
        ? vhosts.presence().join(vhost, name, sid, uid, data, Boolean.TRUE.equals(hidden))
        : Future.succeededFuture(null));
    io.webrocket.history.HistorySettings.Policy policy = history;
    HistoryStreams.Position[] position = new HistoryStreams.Position[1];
    if (policy != null) {
      joining = joining.compose(r -> sessions.historyStreams().position(vhost, name, policy, since)
          .map(at -> {
            position[0] = at;
            return r;
          }));
    }
    await(joining.onComplete(
        r -> {
          List<PresenceJoins.Numbered> arrived = window == null ? List.of() : sessions.presenceJoins().end(window);
          if (closing) {
            // The socket went away while it joined, after it had left everything else: it
            // leaves this channel too, or it would stay listed there for good.
            if (presenceChannel) {
              vhosts.presence().leave(vhost, java.util.List.of(name), sid, null);
            }
            return;
          }
          boolean fresh = channels.add(name);
          // A new member also gets what reached this instance while it joined, after its list and
          // the missed announcements of its answer (see PresenceJoins); a member already was a
          // subscriber all along.
          List<io.webrocket.protocol.Frame> late = List.of();
          long upTo = presenceChannel ? r.missedUpTo() : 0;
          if (fresh && !arrived.isEmpty()) {
            late = new java.util.ArrayList<>();
            for (PresenceJoins.Numbered n : arrived) {
              if (n.seq() > upTo) {
                late.add(n.frame());
                upTo = n.seq();
              }
            }
          }
          if (fresh) {
            if (presenceChannel) {
              // Announcements up to this number are in its list, or written below (see deliverPresence).
              presenceSince.put(name, upTo);
            }
            if (position[0] == null) {
              sessions.subscribers().add(this, name);
            }
          }
          logged(202, "Subscribed", "subscribe", logPayload);
          JsonObject subscribed = new JsonObject().put("channel", name);
          if (type.needsPermission()) {
            subscribed.put("uid", uid);
          }
          if (position[0] != null) {
            position[0].describe(subscribed);
          } else if (since != null && policy == null && fresh) {
            subscribed.put("recovered", false); // no history to recover from
          }
          // A presence channel's list comes encoded already (see PresenceMembers.Member#entry).
          send(presenceChannel ? Wwfp.encodeWithRaw(":subscribed", subscribed, "subscribers", r.members())
              : Wwfp.encode(":subscribed", subscribed));
          if (position[0] != null) {
            sessions.historyStreams().attach(this, name, position[0]);
          }
          if (presenceChannel) {
            if (r.announcement() != null) {
              sendFrame(r.announcement());
            }
            r.missed().forEach(this::sendFrame);
            late.forEach(this::sendFrame);
          }
        },
        err -> {
          if (window != null) {
            sessions.presenceJoins().end(window);
          }
          if (rejoin && !closing && channels.contains(name)) {
            sessions.subscribers().add(this, name); // the failed recovery leaves it where it was
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

  /** Writes a complete frame (a presence announcement) to this socket alone. */
  private void sendFrame(Frame frame) {
    if (socket.closeSent()) {
      return;
    }
    ByteBuf buf = Outbound.direct(frame);
    try {
      reply(buf);
    } finally {
      buf.release();
    }
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
      sessions.subscribers().remove(this, name);
      sessions.historyStreams().detach(this, name);
      presenceSince.remove(name);
    } else if (foreign(name)) {
      fail(Status.NOT_SUBSCRIBED); // whether it exists or not
      return;
    }
    JsonObject logPayload = payload;
    Future<Void> leaving;
    if (wasOn) {
      leaving = Names.typeOf(name) == Names.ChannelType.PRESENCE
          ? vhosts.presence().leave(vhost, java.util.List.of(name), sid, data)
          : Future.succeededFuture();
    } else {
      // Not on it: tell apart a missing channel (454) from one it is not subscribed to (453).
      leaving = vhosts.channelOpen(vhost, name).compose(open -> Future.failedFuture(Status.NOT_SUBSCRIBED.failure()));
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
      await(vhosts.channelOpen(vhost, name).onComplete(
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
    sessions.broadcasts(vhost).increment();
    io.webrocket.history.HistorySettings.Policy history = sessions.historyStreams().histories().policy(vhost, name);
    if (history != null) {
      sessions.historyAppender().publish(vhost, name, history,
          io.webrocket.history.OffsetFrames.body(event, payload, name, sid));
    } else {
      vhosts.publish(vhost, name, Frame.text(Wwfp.userEvent(event, payload, name, sid)));
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
    vhosts.trigger(vhost, tr)
        .onComplete(ok -> {
          sessions.metrics().triggers(vhost).increment();
          if ("trigger".equals(logEvent)) {
            logged(205, "Triggered", logEvent, logPayload);
          }
        }, err -> {
          sessions.metrics().triggersRefused(vhost).increment();
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
    socket.flush();
    socket.close((short) 1000, null);
  }

  /** The socket is gone (any reason): it leaves every channel; presence members are announced. */
  @Override
  public void onClosed() {
    if (gone) {
      return;
    }
    gone = true;
    closing = true;
    leaveAll(null);
    sessions.closed(this);
  }

  /** Its channel was closed (the index has dropped it already). */
  void channelClosed(String channel) {
    channels.remove(channel);
  }

  private void leaveAll(JsonObject data) {
    if (channels.isEmpty()) {
      return;
    }
    java.util.List<String> presence = new java.util.ArrayList<>();
    for (String c : channels) {
      sessions.subscribers().remove(this, c);
      if (Names.typeOf(c) == Names.ChannelType.PRESENCE) {
        presence.add(c);
      }
    }
    channels.clear();
    presenceSince.clear();
    if (!presence.isEmpty()) {
      vhosts.presence().leave(vhost, presence, sid, data);
    }
  }

  /** Closes the socket with a WebSocket status, e.g. when its vhost is deleted. */
  @Override
  public void shutdown(short status, String reason) {
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
    socket.flush();
    return true;
  }

  boolean closing() {
    return closing;
  }
}
