package io.webrocket.backend;

import io.webrocket.protocol.Wbp;
import io.webrocket.protocol.WbpDecoder;
import io.webrocket.protocol.WbpRequest;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.webrocket.protocol.WbpRequest.Identity;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Wwfp;
import io.webrocket.limits.TokenBucket;
import io.webrocket.log.AccessLog;
import io.webrocket.vhost.Registry;
import io.webrocket.vhost.RegistryClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * One backend TCP connection speaking WBP. It starts fresh and becomes, by its first request:
 * a one-shot client (reply, then close — the default), a persistent client ({@code KA}), or a
 * worker ({@code dlr} + {@code RD}).
 */
final class BackendConnection {
  /** CLOSING: a persistent connection whose last reply is queued behind the ones still owed. */
  private enum State { FRESH, ONE_SHOT, PERSISTENT, WORKER, CLOSING, CLOSED }

  private final NetSocket socket;
  private final io.netty.channel.ChannelHandlerContext channel;
  private final WbpOutbound outbound;
  /** Reading is paused: too many replies owed, or too many bytes the peer has not taken. */
  private boolean paused;
  /** The peer half-closed: nothing more comes; answer what it sent, then close. */
  private boolean inputEnded;
  /** When the message being received started (its first byte), 0 between messages. */
  private long messageStartedAt;
  /** The client is still sending what was refused: close gently (see close). */
  private boolean lingering;
  private final BackendEndpoint endpoint;
  private final WbpDecoder decoder;
  private final OrderedReplies replies;
  private State state = State.FRESH;
  private Identity identity;
  private MessageConsumer<String> triggers;
  private long heartbeatTimer = -1;
  private long lastHeard;
  /** When the client last sent bytes or got a reply: the idle timeout counts from there. */
  private long lastActive = System.nanoTime();
  private final io.vertx.core.Promise<Void> closed = io.vertx.core.Promise.promise();
  private final TokenBucket rate;
  /** The frames of the message being handled, for the access log. */
  private List<String> current = List.of();

  BackendConnection(NetSocket socket, BackendEndpoint endpoint) {
    this.socket = socket;
    this.channel = io.webrocket.vertx.VertxInternals.channelHandlerContext(socket);
    this.endpoint = endpoint;
    this.outbound = new WbpOutbound(channel, endpoint.outboundQueueBytes());
    this.decoder = new WbpDecoder(endpoint.maxMessageSize(), this::onMessage, this::onOversize);
    this.decoder.onEmpty(this::onEmptyMessage);
    this.replies = new OrderedReplies(this::writeReply);
    this.rate = new TokenBucket(endpoint.requestsPerSecond(), endpoint.requestsBurst());
    io.vertx.core.Context loop = endpoint.vertx().getOrCreateContext();
    this.published = new BroadcastBatch(
        (vhost, ch, frames, count) -> io.webrocket.bus.Fanout.publishRun(endpoint.vertx(), vhost, ch, frames, count),
        task -> loop.runOnContext(v -> task.run()));
    // A 204 never reaches the client before its broadcast is on the bus.
    this.outbound.beforeFlush(published::send);
  }

  String vhost() {
    return identity == null ? null : identity.vhost();
  }

  void start() {
    // A peer that half-closes after its request (printf ... | nc -N) is still answered: the
    // end of its input is an event, not a close.
    // Seen by a handler of our own ahead of Vert.x's, which keeps its own event handling.
    channel.channel().config().setOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true);
    channel.pipeline().addBefore("handler", "wbp-input-end", new io.netty.channel.ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object event) {
        if (event == io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE) {
          onInputEnded();
        }
        ctx.fireUserEventTriggered(event);
      }
    });
    socket.handler(bytes -> {
      lastActive = System.nanoTime();
      decoder.feed(bytes);
      noteMessageProgress();
    });
    socket.closeHandler(v -> onClosed());
    socket.exceptionHandler(e -> {});
  }

  /** Starts or stops the message deadline's clock: it runs from a message's first byte to its end. */
  private void noteMessageProgress() {
    if (!decoder.midMessage()) {
      messageStartedAt = 0;
    } else if (messageStartedAt == 0) {
      messageStartedAt = System.nanoTime();
    }
  }

  /**
   * A message started more than {@code timeoutNs} ago and is still incomplete while we read:
   * someone trickles bytes to hold the connection. Not while reading is paused (our doing).
   */
  boolean overdue(long now, long timeoutNs) {
    return messageStartedAt != 0 && !paused && (state == State.FRESH || state == State.PERSISTENT || state == State.WORKER)
        && now - messageStartedAt > timeoutNs;
  }

  void onOverdue() {
    messageStartedAt = 0;
    AccessLog.backend(vhost(), Status.BAD_REQUEST.code, "Bad request (message not completed within backend.messageTimeoutMs)", List.of());
    decoder.pause();
    lingering = true;
    if (!endsAfterOwedReplies()) {
      end(Wbp.error(Status.BAD_REQUEST));
    }
  }

  /** {@code \r\n\r\n} with no frame: a bad request on a fresh connection, a stray end between requests otherwise. */
  private void onEmptyMessage() {
    if (state == State.FRESH) {
      AccessLog.backend(null, Status.BAD_REQUEST.code, Status.BAD_REQUEST.text, List.of());
      endpoint.requests("other", Status.BAD_REQUEST.code).increment();
      state = State.ONE_SHOT;
      endpoint.identifiedOrGone(this);
      writeAndClose(Wbp.error(Status.BAD_REQUEST));
    }
  }

  /** The peer will send nothing more: what it sent is carried out and answered, then the connection closes. */
  private void onInputEnded() {
    inputEnded = true;
    if (paused && state != State.PERSISTENT) {
      return; // a worker registering (see ready) or not reading: handled as it resumes
    }
    // An incomplete message will never be completed: it is dropped unanswered.
    finishAfterInputEnded();
  }

  private void finishAfterInputEnded() {
    switch (state) {
      case FRESH, WORKER -> close();
      case PERSISTENT -> {
        if (paused) {
          return; // requests still held: handled as reading resumes
        }
        if (replies.size() == 0) {
          close();
        } else {
          state = State.CLOSING;
        }
      }
      default -> {} // ONE_SHOT and CLOSING close after their owed reply
    }
  }

  private void onOversize() {
    AccessLog.backend(vhost(), Status.BAD_REQUEST.code, "Bad request (message over the size limit)", List.of());
    lingering = true;
    if (!endsAfterOwedReplies()) {
      end(Wbp.error(Status.BAD_REQUEST));
    }
  }

  /** A one-shot client gets one reply; anything after its request (or after a closing reply) is ignored. */
  private boolean endsAfterOwedReplies() {
    return state == State.ONE_SHOT || state == State.CLOSING || state == State.CLOSED;
  }

  private void onMessage(List<String> frames) {
    handlingMessage = true;
    try {
      handle(frames);
    } finally {
      handlingMessage = false;
    }
  }

  private void handle(List<String> frames) {
    if (endsAfterOwedReplies()) {
      return;
    }
    WbpRequest req = WbpRequest.parse(frames, endpoint.maxIdentityLength());
    current = frames;
    if (req.identityMalformed()) {
      end(observed(req, frames, UNAUTHORIZED_CLOSE));
      return;
    }
    Identity id = req.identity() != null ? req.identity() : identity;
    if (id == null) {
      // Nothing without an identity; an HB from a worker that never said RD is told to reconnect.
      writeAndClose(observed(req, frames, "HB".equals(req.command()) ? Wbp.QT : Wbp.error(Status.UNAUTHORIZED)));
      return;
    }
    if (state != State.WORKER && !rate.tryTake()) {
      // Over the request rate: 429; a client that keeps flooding is cut off.
      if (rate.sustained()) {
        end(observed(req, frames, Wbp.error(Status.TOO_MANY_REQUESTS)));
      } else if (state == State.PERSISTENT) {
        queue(Future.succeededFuture(observed(req, frames, Wbp.error(Status.TOO_MANY_REQUESTS))));
      } else {
        writeAndClose(observed(req, frames, Wbp.error(Status.TOO_MANY_REQUESTS)));
      }
      return;
    }
    switch (state) {
      case FRESH -> first(id, req);
      case PERSISTENT -> {
        if (id.isWorker()) {
          queue(refuse(id, Status.BAD_REQUEST).map(r -> observed(req, frames, r)));
        } else if (!broadcastAtOnce(id, req, frames)) {
          queue(dispatch(id, req).map(r -> observed(req, frames, r)));
        }
      }
      case WORKER -> worker(req);
      default -> {}
    }
  }

  private void first(Identity id, WbpRequest req) {
    endpoint.identifiedOrGone(this);
    if (id.isWorker()) {
      switch (req.command()) {
        case "RD" -> ready(id);
        case "HB" -> writeAndClose(Wbp.QT);
        case "QT" -> close();
        default -> {
          state = State.ONE_SHOT;
          refuse(id, Status.BAD_REQUEST).onComplete(r -> writeAndClose(observed(req, current, r.result())));
        }
      }
      return;
    }
    List<String> frames = current;
    if ("KA".equals(req.command())) {
      identity = id;
      state = State.PERSISTENT;
      queue(dispatch(id, req).map(r -> observed(req, frames, r)));
      return;
    }
    state = State.ONE_SHOT;
    dispatch(id, req).onComplete(r -> writeAndClose(observed(req, frames, r.result())));
  }

  /** Queues a persistent connection's reply; reading pauses while too many are outstanding. */
  private void queue(Future<Buffer> reply) {
    replies.add(reply);
    if (replies.size() >= endpoint.maxPipelined()) {
      stopReading("pipelined");
    }
  }

  /**
   * A persistent connection's {@code BC} in its common case, done here without a future or a
   * task: the node's view knows the token and the channel, the channel keeps no history, and
   * nothing this connection sent before is still in flight (no {@code CC} being answered, no
   * broadcast waiting for its check), so publishing now keeps every order the general path
   * ({@link #broadcast}) keeps. The frame joins this pass's batch ({@link BroadcastBatch}); the
   * {@code 204} is queued behind the replies owed and, like every reply, flushed after the
   * batch is on the bus. False, having done nothing: the general path takes the request (and
   * answers anything malformed).
   *
   * <p>Why: a pipelining client's {@code BC} made about ten futures, their listeners and one
   * event-loop task before its frame was published, and a node publishing to subscribers on
   * other nodes paid for them more than the single node did. Without them that node spends
   * 4.3–6.1 µs per {@code BC} instead of 5.7–7.1 µs (docs/cluster-benchmark.md, "The cross-node
   * BC measured per node, and the common BC without futures").
   */
  private boolean broadcastAtOnce(Identity id, WbpRequest req, List<String> frames) {
    if (!"BC".equals(req.command()) || !lastClose.isComplete() || broadcasts.inFlight()) {
      return false;
    }
    String channel = req.arg(0);
    String event = req.arg(1);
    if (!wellFormedBroadcast(channel, event, req.arg(2))) {
      return false;
    }
    io.webrocket.vhost.NodeView view = endpoint.view();
    if (!view.tokenHashValid(id.vhost(), tokenHash(id.token())) || !view.channelOpen(id.vhost(), channel)
        || endpoint.histories().policy(id.vhost(), channel) != null) {
      return false;
    }
    JsonObject data = jsonObject(req.arg(2));
    if (data == null) {
      return false;
    }
    published.add(id.vhost(), channel, Frame.text(Wwfp.userEvent(event, data, channel, null)));
    // Written now if nothing is owed before it: into the channel's unflushed output, which is
    // flushed at the end of the pass, after the batch (WbpOutbound's beforeFlush).
    replies.addDone(observed(req, frames, Wbp.OK));
    if (replies.size() >= endpoint.maxPipelined()) {
      stopReading("pipelined");
    }
    return true;
  }

  /**
   * Stops taking requests: the socket stops reading and the decoder stops handing out what it
   * already holds (one read can carry thousands of pipelined requests). {@code reason}
   * ({@code pipelined}, {@code outbound} or {@code revoked}) is counted in
   * {@code webrocket_backend_reads_paused_total}.
   */
  private void stopReading(String reason) {
    if (!paused) {
      paused = true;
      endpoint.readsPaused(reason).increment();
    }
    socket.pause();
    decoder.pause();
  }

  /** After a write: a peer that does not take what it is sent is not read either. */
  private void boundOutbound() {
    if (outbound.full()) {
      stopReading("outbound");
      outbound.whenDrained(this::resumeReadingIfDrained);
    }
  }

  /**
   * Takes requests again once the replies owed and the bytes unsent are both back under their
   * bounds. Never from inside the decoder's loop (a reply written while a message is handled,
   * whose flush drained the output at once): resuming there would feed and decode again under
   * the loop that is still handing out messages; it runs as the next task instead.
   */
  private void resumeReadingIfDrained() {
    if (!paused || (state != State.PERSISTENT && state != State.WORKER) || replies.size() > endpoint.maxPipelined() / 2) {
      return;
    }
    if (handlingMessage) {
      endpoint.vertx().getOrCreateContext().runOnContext(v -> resumeReadingIfDrained());
      return;
    }
    if (!outbound.drained()) {
      outbound.whenDrained(this::resumeReadingIfDrained);
      return;
    }
    paused = false;
    // The socket first: the requests the decoder holds may pause reading again at once.
    socket.resume();
    decoder.resume();
    if (messageStartedAt != 0) {
      messageStartedAt = System.nanoTime(); // the deadline counts while we read, not while we wait
    }
    noteMessageProgress();
    if (inputEnded && !paused) {
      finishAfterInputEnded();
    }
  }

  private void writeReply(Buffer reply) {
    if (state == State.CLOSED) {
      return;
    }
    lastActive = System.nanoTime();
    if (isAuthFailure(reply) || (state == State.CLOSING && replies.size() == 0)) {
      outbound.write(reply);
      close();
      return;
    }
    // Replies complete one event-bus task at a time; queued unflushed and flushed once per
    // event-loop pass, a pipelined burst leaves in one write (see docs/performance.md).
    outbound.write(reply);
    boundOutbound();
    resumeReadingIfDrained();
  }

  private static final long LINGER_MS = 500;

  private static final java.util.Set<String> COMMANDS = java.util.Set.of("OC", "CC", "BC", "AT", "KA", "RD", "HB", "QT", "HI");

  /**
   * Counts and logs a request's outcome: the code is the {@code ER} code, or the success code
   * the 2012 server logged for the command. Returns {@code reply} unchanged.
   */
  private Buffer observed(WbpRequest req, List<String> frames, Buffer reply) {
    String command = COMMANDS.contains(req.command()) ? req.command() : "other";
    String v = req.identity() != null ? req.identity().vhost() : vhost();
    int code;
    String text;
    if (reply.length() > 3 && reply.getByte(0) == 'E' && reply.getByte(1) == 'R') {
      code = Integer.parseInt(reply.getString(3, reply.toString().indexOf('\n', 3)));
      text = Status.of(code).text;
      if (code == Status.UNAUTHORIZED.code) {
        // Label values never come from unauthenticated input: a vhost nobody serves (or an
        // identity that does not parse) counts under one fixed label.
        boolean known = v != null && !req.identityMalformed() && reply != UNKNOWN_VHOST_CLOSE;
        endpoint.authFailures(known ? v : UNKNOWN_VHOST_LABEL).increment();
      }
    } else {
      switch (command) {
        case "OC" -> { code = 250; text = "Channel opened"; }
        case "CC" -> { code = 252; text = "Channel closed"; }
        case "BC" -> { code = 204; text = "Broadcasted"; }
        case "AT" -> { code = 270; text = "Single access token generated"; }
        case "HI" -> { code = 200; text = "History"; }
        case "RD" -> { code = 300; text = "Ready"; }
        case "QT", "HB" -> { code = 309; text = "Disconnected"; }
        default -> { code = 200; text = "OK"; }
      }
    }
    endpoint.requests(command, code).increment();
    if (code == 204) {
      endpoint.broadcasts(v).increment();
    }
    AccessLog.backend(v, code, text, frames);
    return reply;
  }

  /** A reply that also ends the connection: a failed identity. */
  private static final Buffer UNAUTHORIZED_CLOSE = Wbp.error(Status.UNAUTHORIZED);
  /** The same bytes, for a vhost nobody serves: counted under {@link #UNKNOWN_VHOST_LABEL}. */
  private static final Buffer UNKNOWN_VHOST_CLOSE = Wbp.error(Status.UNAUTHORIZED);
  static final String UNKNOWN_VHOST_LABEL = "(unknown)";

  private static boolean isAuthFailure(Buffer reply) {
    return reply == UNAUTHORIZED_CLOSE || reply == UNKNOWN_VHOST_CLOSE;
  }

  /** Answers {@code last} and closes; a persistent connection first gets the replies it is owed, in order. */
  private void end(Buffer last) {
    if (state == State.PERSISTENT) {
      state = State.CLOSING;
      replies.add(Future.succeededFuture(last));
    } else {
      writeAndClose(last);
    }
  }

  /** One client request; always completes, with the reply to write (errors included). */
  private Future<Buffer> dispatch(Identity id, WbpRequest req) {
    Registry registry = registry(id);
    switch (req.command()) {
      case "KA":
        return toReply(identified(id), Wbp.OK);
      case "OC":
        return toReply(registry.openChannel(id.token(), req.arg(0), Registry.IfOpen.SUCCEED), Wbp.OK);
      case "CC": {
        // Once this connection's earlier broadcasts have been published: they are written to
        // the subscribers before the close drops them; later ones are checked after it.
        Future<Void> closed = broadcasts.afterEarlier().compose(x -> {
          published.send(); // gathered broadcasts leave before the close is asked for
          return registry.closeChannel(id.token(), req.arg(0));
        });
        lastClose = closed.transform(x -> Future.succeededFuture());
        return toReply(closed, Wbp.OK);
      }
      case "AT":
        return registry.issueAccessToken(id.token(), req.arg(0), req.arg(1))
            .map(token -> Wbp.encode("AT", token))
            .recover(err -> Future.succeededFuture(errorReply(err)));
      case "BC":
        return broadcast(id, req);
      case "HI":
        return history(id, req);
      default:
        return refuse(id, Status.BAD_REQUEST);
    }
  }

  /** A request refused without the registry: a bad identity still gets 402 first, as for any request. */
  private Future<Buffer> refuse(Identity id, Status status) {
    return toReply(identified(id), Wbp.error(status));
  }

  private Future<Buffer> broadcast(Identity id, WbpRequest req) {
    String channel = req.arg(0);
    String event = req.arg(1);
    JsonObject data = wellFormedBroadcast(channel, event, req.arg(2)) ? jsonObject(req.arg(2)) : null;
    if (data == null) {
      return refuse(id, Status.BAD_REQUEST);
    }
    // Checked after this connection's last CC has taken effect (a BC pipelined behind a CC of
    // its channel is 454), side by side with the other broadcasts; published in order.
    Future<Void> checked = lastClose.compose(x -> check(id, channel));
    var history = endpoint.histories().policy(id.vhost(), channel);
    if (history != null) {
      // Appended to the channel's history first, then published with its offset (in order). The
      // 204 waits for the offset: a BC the history could not keep (nothing was published) is 500.
      byte[] body = io.webrocket.history.OffsetFrames.body(event, data, channel, null);
      Promise<Long> offset = Promise.promise();
      Future<Void> handedOver = broadcasts.add(checked, () -> {
        published.send(); // the gathered broadcasts before this one
        endpoint.historyAppender().publish(id.vhost(), channel, history, body).onComplete(offset);
      });
      Future<Long> done = handedOver.compose(x -> offset.future()
          .recover(err -> Future.failedFuture(Status.INTERNAL_ERROR.failure())));
      lastHistoryBroadcast = done.transform(x -> Future.succeededFuture());
      return toReply(done, Wbp.OK);
    }
    // Encoded once, here at the edge, and published from here once checked: a persistent
    // connection's with its other broadcasts to the channel of this event-loop pass, one bus
    // message (sent at the latest when the pass's replies are flushed, see the constructor).
    // A one-shot connection writes its reply and closes at once: its broadcast leaves now.
    Frame frame = Frame.text(Wwfp.userEvent(event, data, channel, null));
    return toReply(broadcasts.add(checked, () -> {
      published.add(id.vhost(), channel, frame);
      if (state != State.PERSISTENT) {
        published.send();
      }
    }), Wbp.OK);
  }

  /** A {@code BC}'s frames as WBP requires them (the data is checked by {@link #jsonObject}); else 400. */
  private static boolean wellFormedBroadcast(String channel, String event, String json) {
    return channel != null && !channel.isEmpty() && event != null && !event.isEmpty() && !event.startsWith(":")
        && json != null;
  }

  /** {@code json} as a JSON object, or null if it is not one (a {@code BC}'s data must be). */
  private static JsonObject jsonObject(String json) {
    try {
      return io.vertx.core.json.Json.decodeValue(json) instanceof JsonObject o ? o : null;
    } catch (DecodeException e) {
      return null;
    }
  }

  /**
   * Extension {@code HI}: a channel's history. Frames: channel, after (offset, default 0), limit
   * (default and most {@code history.replayPage}). Reply {@code HI}, one JSON frame with the
   * settings, epoch, oldest and last offset, then one frame per event (as subscribers get it,
   * with its offset), oldest first. {@code ER 400} for bad numbers or a channel without history.
   */
  private Future<Buffer> history(Identity id, WbpRequest req) {
    String channel = req.arg(0);
    var histories = endpoint.histories();
    long after;
    int limit;
    try {
      after = req.arg(1) == null || req.arg(1).isEmpty() ? 0 : Long.parseLong(req.arg(1));
      limit = req.arg(2) == null || req.arg(2).isEmpty() ? histories.settings().replayPage() : Integer.parseInt(req.arg(2));
    } catch (NumberFormatException e) {
      return refuse(id, Status.BAD_REQUEST);
    }
    if (channel == null || channel.isEmpty() || after < 0 || limit < 0) {
      return refuse(id, Status.BAD_REQUEST);
    }
    int max = Math.min(limit, histories.settings().replayPage());
    return lastHistoryBroadcast.compose(x -> check(id, channel)).compose(ok -> {
      var policy = histories.policy(id.vhost(), channel);
      if (policy == null) {
        return Future.failedFuture(Status.BAD_REQUEST.failure());
      }
      return histories.store().read(id.vhost(), channel, policy, after, max).map(page -> {
        String[] frames = new String[page.entries().size() + 1];
        frames[0] = io.webrocket.history.OffsetFrames.describe(channel, policy, page, false).encode();
        for (int i = 0; i < page.entries().size(); i++) {
          var e = page.entries().get(i);
          frames[i + 1] = io.webrocket.history.OffsetFrames.json(e.body(), e.offset()).toString();
        }
        return Wbp.encode("HI", frames);
      });
    }).recover(err -> Future.succeededFuture(errorReply(err)));
  }

  /** True while the decoder hands a message to {@link #onMessage}: reading is not resumed from there. */
  private boolean handlingMessage;
  /** The broadcasts published in this event-loop pass, leaving as one bus message per channel run. */
  private final BroadcastBatch published;
  private final OrderedBroadcasts broadcasts = new OrderedBroadcasts();
  /** Completes when this connection's last CC has been answered (either way). */
  private Future<Void> lastClose = Future.succeededFuture();
  /**
   * This connection's last {@code BC} on a channel with history, done (appended, or refused): a
   * {@code HI} waits for it, so it sees every event the connection broadcast before it.
   */
  private Future<Void> lastHistoryBroadcast = Future.succeededFuture();

  /** The token this connection last sent, and its hash: a persistent connection sends the same one with every request. */
  private byte[] hashedToken;
  private String tokenHash;

  /**
   * {@code token}'s hash, computed once per token this connection sends. Compared in constant
   * time with the connection's own previous token (a secret is never compared with equals).
   */
  private String tokenHash(String token) {
    if (token == null) {
      return null;
    }
    byte[] t = token.getBytes(StandardCharsets.UTF_8);
    if (hashedToken == null || !MessageDigest.isEqual(hashedToken, t)) {
      hashedToken = t;
      tokenHash = io.webrocket.vhost.NodeView.hash(token);
    }
    return tokenHash;
  }

  /** May this identity broadcast on {@code channel}: from the node's view, else the registry (learnt). */
  private Future<Void> check(Identity id, String channel) {
    io.webrocket.vhost.NodeView view = endpoint.view();
    if (view.tokenHashValid(id.vhost(), tokenHash(id.token())) && view.channelOpen(id.vhost(), channel)) {
      return answeredLater(); // this node knows both: no request leaves the node
    }
    long generation = view.generation(id.vhost());
    return registry(id).checkBroadcast(id.token(), channel).onSuccess(ok -> {
      view.learnToken(id.vhost(), id.token(), generation);
      view.learnChannel(id.vhost(), channel, generation);
    });
  }

  /**
   * Succeeds when the identity's token is its vhost's: from this node's view when it knows the
   * token, else from the registry (and learnt).
   */
  private Future<Void> identified(Identity id) {
    io.webrocket.vhost.NodeView view = endpoint.view();
    if (view.tokenHashValid(id.vhost(), tokenHash(id.token()))) {
      return answeredLater();
    }
    long generation = view.generation(id.vhost());
    return registry(id).identify(id.token()).onSuccess(ok -> view.learnToken(id.vhost(), id.token(), generation));
  }

  /**
   * Success, on the next pass of the event loop rather than at once, as a registry's answer
   * would come: what waits on it (ordered broadcasts, replies) then runs outside the decoder's
   * loop. (Replies written from inside that loop, as {@link #broadcastAtOnce}'s are, never
   * resume reading there: see {@link #resumeReadingIfDrained}.)
   */
  private Future<Void> answeredLater() {
    io.vertx.core.Promise<Void> later = io.vertx.core.Promise.promise();
    endpoint.vertx().getOrCreateContext().runOnContext(v -> later.complete());
    return later.future();
  }

  private Registry registry(Identity id) {
    return new RegistryClient(endpoint.vertx(), id.vhost());
  }

  private static Future<Buffer> toReply(Future<?> request, Buffer ok) {
    return request.map(x -> ok).recover(err -> Future.succeededFuture(errorReply(err)));
  }

  /** A vhost nobody serves is an unknown vhost: the identity fails (402). */
  private static Buffer errorReply(Throwable err) {
    Status s = Bus.statusOf(err, null);
    if (s == null) {
      return UNKNOWN_VHOST_CLOSE;
    }
    return s == Status.UNAUTHORIZED ? UNAUTHORIZED_CLOSE : Wbp.error(s);
  }

  // ---- workers ----

  private void ready(Identity id) {
    // Nothing else is read until the worker is registered, not even what came with the RD.
    paused = true;
    socket.pause();
    decoder.pause();
    identified(id).onComplete(ok -> {
      identity = id;
      if (state == State.CLOSED) {
        return; // the connection ended while its identity was checked: it never joins the lobby
      }
      state = State.WORKER;
      endpoint.workerJoined(id.vhost(), id.id());
      lastHeard = System.nanoTime();
      triggers = endpoint.vertx().eventBus().consumer(Addresses.workers(id.vhost()), this::trigger);
      heartbeatTimer = endpoint.vertx().setPeriodic(endpoint.heartbeatIntervalMs(), t -> heartbeat());
      outbound.write(Wbp.HB);
      if (inputEnded) {
        close();
        return;
      }
      resumeReadingIfDrained();
    }, err -> writeAndClose(observed(WbpRequest.parse(current), current, errorReply(err))));
  }

  private void worker(WbpRequest req) {
    switch (req.command()) {
      case "HB" -> lastHeard = System.nanoTime();
      case "RD" -> lastHeard = System.nanoTime();
      case "QT" -> close();
      default -> {
        outbound.write(Wbp.error(Status.BAD_REQUEST));
        boundOutbound();
      }
    }
  }

  /** Exactly one worker gets each trigger: the event bus picks this consumer, we write {@code TR}. */
  private void trigger(Message<String> msg) {
    if (state != State.WORKER || outbound.full()) {
      Bus.fail(msg, Status.SERVICE_UNAVAILABLE);
      return;
    }
    outbound.write(Wbp.encode("TR", msg.body()));
    msg.reply(null);
  }

  private void heartbeat() {
    if (System.nanoTime() - lastHeard > endpoint.workerExpiryNs()) {
      // Expired: it gets no more triggers and is told to reconnect.
      AccessLog.backend(vhost(), 408, "Expired", List.of());
      writeAndClose(Wbp.QT);
      return;
    }
    outbound.write(Wbp.HB);
  }

  // ---- closing ----

  private void writeAndClose(Buffer last) {
    if (state == State.CLOSED) {
      return;
    }
    outbound.write(last);
    close();
  }

  /**
   * The vhost's token was regenerated: a worker or persistent client identified with the old one
   * ({@code previous}, a fingerprint) is sent {@code QT} and closed — a persistent client after
   * the replies it is owed.
   */
  void revoke(String previous) {
    if (identity == null || !previous.equals(io.webrocket.vhost.Secrets.fingerprint(identity.token()))) {
      return;
    }
    AccessLog.backend(vhost(), Status.UNAUTHORIZED.code, "Unauthorized (access token regenerated)", List.of());
    switch (state) {
      case WORKER -> writeAndClose(Wbp.QT);
      case PERSISTENT -> {
        stopReading("revoked");
        end(Wbp.QT);
      }
      default -> {}
    }
  }

  /**
   * Sent on shutdown and when the vhost is deleted: workers are told to go ({@code QT}); a
   * client stops being read and is closed once its in-flight requests are answered.
   * Completes when the connection is closed.
   */
  Future<Void> quit() {
    switch (state) {
      case WORKER -> writeAndClose(Wbp.QT);
      case PERSISTENT -> {
        socket.pause();
        if (replies.size() == 0) {
          close();
        } else {
          state = State.CLOSING;
        }
      }
      case ONE_SHOT, CLOSING -> socket.pause(); // closes after its owed reply
      default -> close();
    }
    return closed.future();
  }

  /** Silent for {@code timeoutNs} since its last request or reply, and owed nothing: neither a reply being prepared nor a pipelined one. */
  boolean idle(long now, long timeoutNs) {
    return now - lastActive > timeoutNs && replies.size() == 0 && state != State.ONE_SHOT && state != State.CLOSED;
  }

  /** The endpoint's limits changed: the decoder, rate and heartbeat follow. */
  void reconfigured() {
    decoder.maxMessageSize(endpoint.maxMessageSize());
    outbound.limit(endpoint.outboundQueueBytes());
    rate.limit(endpoint.requestsPerSecond(), endpoint.requestsBurst());
    if (heartbeatTimer >= 0) {
      endpoint.vertx().cancelTimer(heartbeatTimer);
      heartbeatTimer = endpoint.vertx().setPeriodic(endpoint.heartbeatIntervalMs(), t -> heartbeat());
    }
  }

  void close() {
    if (state == State.CLOSED) {
      return;
    }
    leaveLobby();
    state = State.CLOSED;
    endpoint.identifiedOrGone(this);
    outbound.flush(); // replies queued for the next pass's flush leave before the close
    if (lingering) {
      // Closing with unread input makes the kernel reset the connection, and the client could
      // lose the reply it is owed. Half-close once the reply is out, drop what still arrives
      // (the decoder has stopped) for a moment, then close.
      outbound.afterWritten(() -> ((io.netty.channel.socket.SocketChannel) channel.channel()).shutdownOutput());
      endpoint.vertx().setTimer(LINGER_MS, t -> socket.close());
      return;
    }
    socket.close();
  }

  private void onClosed() {
    leaveLobby();
    state = State.CLOSED;
    endpoint.identifiedOrGone(this);
    endpoint.closed(this);
    closed.tryComplete();
  }

  private void leaveLobby() {
    if (heartbeatTimer >= 0) {
      endpoint.vertx().cancelTimer(heartbeatTimer);
      heartbeatTimer = -1;
    }
    if (triggers != null) {
      triggers.unregister();
      triggers = null;
      endpoint.workerLeft(identity.vhost(), identity.id());
    }
  }
}
