package io.webrocket.backend;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.webrocket.backend.WbpRequest.Identity;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.bus.Status;
import io.webrocket.frontend.Wwfp;
import java.util.List;

/**
 * One backend TCP connection speaking WBP. It starts fresh and becomes, by its first request:
 * a one-shot client (reply, then close — the default), a persistent client ({@code KA}), or a
 * worker ({@code dlr} + {@code RD}).
 */
final class BackendConnection {
  private enum State { FRESH, ONE_SHOT, PERSISTENT, WORKER, CLOSED }

  private final NetSocket socket;
  private final ChannelHandlerContext channel;
  private boolean flushScheduled;
  private final BackendEndpoint endpoint;
  private final WbpDecoder decoder;
  private final OrderedReplies replies;
  private State state = State.FRESH;
  private Identity identity;
  private MessageConsumer<String> triggers;
  private long heartbeatTimer = -1;
  private long lastHeard;

  BackendConnection(NetSocket socket, BackendEndpoint endpoint) {
    this.socket = socket;
    this.channel = ((NetSocketInternal) socket).channelHandlerContext();
    this.endpoint = endpoint;
    this.decoder = new WbpDecoder(endpoint.maxMessageSize(), this::onMessage, this::onOversize);
    this.replies = new OrderedReplies(this::writeReply);
  }

  String vhost() {
    return identity == null ? null : identity.vhost();
  }

  void start() {
    socket.handler(decoder::feed);
    socket.closeHandler(v -> onClosed());
    socket.exceptionHandler(e -> {});
  }

  private void onOversize() {
    endpoint.access(vhost(), Status.BAD_REQUEST, List.of("<oversized message>"));
    writeAndClose(Wbp.error(Status.BAD_REQUEST));
  }

  private void onMessage(List<String> frames) {
    if (state == State.CLOSED || state == State.ONE_SHOT) {
      return; // a one-shot client gets one reply; anything after its request is ignored
    }
    WbpRequest req = WbpRequest.parse(frames);
    endpoint.access(vhost(), null, frames);
    if (req.identityMalformed()) {
      writeAndClose(Wbp.error(Status.UNAUTHORIZED));
      return;
    }
    Identity id = req.identity() != null ? req.identity() : identity;
    if (id == null) {
      // Nothing without an identity; an HB from a worker that never said RD is told to reconnect.
      writeAndClose("HB".equals(req.command()) ? Wbp.QT : Wbp.error(Status.UNAUTHORIZED));
      return;
    }
    switch (state) {
      case FRESH -> first(id, req);
      case PERSISTENT -> {
        if (id.isWorker()) {
          queue(Future.succeededFuture(Wbp.error(Status.BAD_REQUEST)));
        } else {
          queue(dispatch(id, req));
        }
      }
      case WORKER -> worker(req);
      default -> {}
    }
  }

  private void first(Identity id, WbpRequest req) {
    if (id.isWorker()) {
      switch (req.command()) {
        case "RD" -> ready(id);
        case "HB" -> writeAndClose(Wbp.QT);
        case "QT" -> close();
        default -> writeAndClose(Wbp.error(Status.BAD_REQUEST));
      }
      return;
    }
    if ("KA".equals(req.command())) {
      identity = id;
      state = State.PERSISTENT;
      queue(dispatch(id, req));
      return;
    }
    state = State.ONE_SHOT;
    dispatch(id, req).onComplete(r -> writeAndClose(r.result()));
  }

  /** Queues a persistent connection's reply; reading pauses while too many are outstanding. */
  private void queue(Future<Buffer> reply) {
    replies.add(reply);
    if (replies.size() >= endpoint.maxPipelined()) {
      socket.pause();
    }
  }

  private void writeReply(Buffer reply) {
    if (state == State.CLOSED) {
      return;
    }
    if (reply == UNAUTHORIZED_CLOSE) {
      socket.write(reply); // flushes the replies still queued below too, in order
      close();
      return;
    }
    // Replies complete one event-bus task at a time, and a NetSocket write outside a read handler
    // is flushed at once: one write() per reply. Queued here and flushed once per event-loop pass,
    // a pipelined burst leaves in one write (measured in docs/performance.md).
    channel.write(Unpooled.wrappedBuffer(reply.getBytes()), channel.voidPromise());
    if (!flushScheduled) {
      flushScheduled = true;
      channel.executor().execute(() -> {
        flushScheduled = false;
        channel.flush();
      });
    }
    if (replies.size() < endpoint.maxPipelined() / 2) {
      if (socket.writeQueueFull()) {
        socket.pause();
        socket.drainHandler(v -> socket.resume());
      } else {
        socket.resume();
      }
    }
  }

  /** A reply that also ends the connection: a failed identity. */
  private static final Buffer UNAUTHORIZED_CLOSE = Wbp.error(Status.UNAUTHORIZED);

  /** One client request; always completes, with the reply to write (errors included). */
  private Future<Buffer> dispatch(Identity id, WbpRequest req) {
    String vhost = id.vhost();
    switch (req.command()) {
      case "KA":
        return toReply(backend(vhost, id.token(), "identify", req.args()), Wbp.OK);
      case "OC":
      case "CC":
        return toReply(backend(vhost, id.token(), req.command(), req.args()), Wbp.OK);
      case "AT":
        return backend(vhost, id.token(), "AT", req.args())
            .map(m -> Wbp.encode("AT", ((JsonObject) m.body()).getString("token")))
            .recover(err -> Future.succeededFuture(errorReply(err)));
      case "BC":
        return broadcast(id, req);
      default:
        return Future.succeededFuture(Wbp.error(Status.BAD_REQUEST));
    }
  }

  private Future<Buffer> broadcast(Identity id, WbpRequest req) {
    String channel = req.arg(0);
    String event = req.arg(1);
    String json = req.arg(2);
    if (channel == null || channel.isEmpty() || event == null || event.isEmpty() || event.startsWith(":") || json == null) {
      return Future.succeededFuture(Wbp.error(Status.BAD_REQUEST));
    }
    JsonObject data;
    try {
      Object parsed = io.vertx.core.json.Json.decodeValue(json);
      if (!(parsed instanceof JsonObject o)) {
        return Future.succeededFuture(Wbp.error(Status.BAD_REQUEST));
      }
      data = o;
    } catch (DecodeException e) {
      return Future.succeededFuture(Wbp.error(Status.BAD_REQUEST));
    }
    Buffer frame = Wwfp.userEvent(event, data, channel, null);
    DeliveryOptions o = Bus.action("broadcast").addHeader("token", id.token()).addHeader(Addresses.CHANNEL, channel);
    return toReply(endpoint.vertx().eventBus().request(Addresses.vhost(id.vhost()), frame, o), Wbp.OK);
  }

  private Future<Message<Object>> backend(String vhost, String token, String command, List<String> args) {
    JsonObject body = new JsonObject().put("token", token).put("command", command).put("args", new JsonArray(args));
    return Bus.request(endpoint.vertx(), Addresses.vhost(vhost), "backend", body);
  }

  private static Future<Buffer> toReply(Future<?> request, Buffer ok) {
    return request.map(x -> ok).recover(err -> Future.succeededFuture(errorReply(err)));
  }

  /** A vhost nobody serves is an unknown vhost: the identity fails (402). */
  private static Buffer errorReply(Throwable err) {
    Status s = Bus.statusOf(err, Status.UNAUTHORIZED);
    return s == Status.UNAUTHORIZED ? UNAUTHORIZED_CLOSE : Wbp.error(s);
  }

  // ---- workers ----

  private void ready(Identity id) {
    socket.pause();
    JsonObject body = new JsonObject().put("token", id.token()).put("command", "RD").put("worker", id.id());
    Bus.request(endpoint.vertx(), Addresses.vhost(id.vhost()), "backend", body).onComplete(ok -> {
      identity = id;
      state = State.WORKER;
      lastHeard = System.nanoTime();
      triggers = endpoint.vertx().eventBus().consumer(Addresses.workers(id.vhost()), this::trigger);
      heartbeatTimer = endpoint.vertx().setPeriodic(endpoint.heartbeatIntervalMs(), t -> heartbeat());
      socket.write(Wbp.HB);
      socket.resume();
    }, err -> writeAndClose(errorReply(err)));
  }

  private void worker(WbpRequest req) {
    switch (req.command()) {
      case "HB" -> lastHeard = System.nanoTime();
      case "RD" -> lastHeard = System.nanoTime();
      case "QT" -> close();
      default -> socket.write(Wbp.error(Status.BAD_REQUEST));
    }
  }

  /** Exactly one worker gets each trigger: the event bus picks this consumer, we write {@code TR}. */
  private void trigger(Message<String> msg) {
    if (state != State.WORKER || socket.writeQueueFull()) {
      Bus.fail(msg, Status.SERVICE_UNAVAILABLE);
      return;
    }
    socket.write(Wbp.encode("TR", msg.body()));
    msg.reply(null);
  }

  private void heartbeat() {
    if (System.nanoTime() - lastHeard > endpoint.workerExpiryNs()) {
      // Expired: it gets no more triggers and is told to reconnect.
      endpoint.access(vhost(), null, List.of("<worker expired>"));
      writeAndClose(Wbp.QT);
      return;
    }
    socket.write(Wbp.HB);
  }

  // ---- closing ----

  private void writeAndClose(Buffer last) {
    if (state == State.CLOSED) {
      return;
    }
    socket.write(last);
    close();
  }

  /** Sent on shutdown and when the vhost is deleted: workers are told to go, clients are cut. */
  void quit() {
    if (state == State.WORKER) {
      writeAndClose(Wbp.QT);
    } else {
      close();
    }
  }

  void close() {
    if (state == State.CLOSED) {
      return;
    }
    leaveLobby();
    state = State.CLOSED;
    socket.close();
  }

  private void onClosed() {
    leaveLobby();
    state = State.CLOSED;
    endpoint.closed(this);
  }

  private void leaveLobby() {
    if (heartbeatTimer >= 0) {
      endpoint.vertx().cancelTimer(heartbeatTimer);
      heartbeatTimer = -1;
    }
    if (triggers != null) {
      triggers.unregister();
      triggers = null;
      Bus.request(endpoint.vertx(), Addresses.vhost(identity.vhost()), "workerLeft",
          new JsonObject().put("worker", identity.id()));
    }
  }
}
