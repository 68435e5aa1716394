package io.webrocket.frontend;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.webrocket.bus.Addresses;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Status;
import io.webrocket.store.Store;
import io.webrocket.vhost.AccessTokenGrid;
import io.webrocket.vhost.NodeView;
import io.webrocket.vhost.Registry;
import io.webrocket.vhost.RegistryClient;
import java.util.HashSet;
import java.util.Set;

/**
 * What the browser sessions of one endpoint instance ask of their vhosts, cluster-wide, all over
 * the event bus or the node's shared view: the vhost's registry (typed client), whether a
 * channel is open (this node's view first), single access tokens, fan-out publications and
 * triggers. Holds no connection state; confined to the instance's event loop.
 */
final class Vhosts {
  private final Vertx vertx;
  private final NodeView view;
  /** Set once at start, before the first connection (its proxy is made asynchronously). */
  private AccessTokenGrid accessTokens;
  private final Store store;
  private final String nodeId;
  private long triggerTimeoutMs;
  /** This node's presence service, as a typed client. */
  private final io.webrocket.presence.Presence presence;

  /**
   * Vhosts this instance has seen exist, so that a handshake does not ask the registry again:
   * forgotten when the vhost is deleted (the registries announce it); bounded, cleared when full.
   */
  private final Set<String> knownVhosts = new HashSet<>();
  private static final int KNOWN_VHOSTS_MAX = 10_000;

  Vhosts(Vertx vertx, NodeView view, Store store, String nodeId) {
    this.vertx = vertx;
    this.view = view;
    this.store = store;
    this.nodeId = nodeId;
    this.presence = new io.webrocket.presence.PresenceClient(vertx);
  }

  /** This node's presence service (members of presence channels, cluster-wide), as a typed client. */
  io.webrocket.presence.Presence presence() {
    return presence;
  }

  /** The single access token grid: the cluster's, or this node's (see {@link AccessTokenGrid#of}). */
  void accessTokens(AccessTokenGrid grid) {
    this.accessTokens = grid;
  }

  /** How long a trigger waits for a worker to take it ({@code websocket.triggerTimeoutMs}). */
  void triggerTimeoutMs(long ms) {
    triggerTimeoutMs = ms;
  }

  /** This node's cluster id: the registries note it with subscribers and workers to forget them with the node. */
  String nodeId() {
    return nodeId;
  }

  /** The registry of {@code vhost}, as a typed client (cheap: it holds only the address). */
  Registry registry(String vhost) {
    return new RegistryClient(vertx, vhost);
  }

  /**
   * Succeeds if {@code channel} of {@code vhost} is open: from this node's view when it knows
   * the channel, else from the vhost's registry (the answer is then learnt). Fails with
   * {@code CHANNEL_NOT_FOUND}, or what the registry answered.
   */
  Future<Void> channelOpen(String vhost, String channel) {
    if (view.channelOpen(vhost, channel)) {
      return Future.succeededFuture();
    }
    long generation = view.generation(vhost);
    return registry(vhost).channelExists(channel).onSuccess(ok -> view.learnChannel(vhost, channel, generation));
  }

  /**
   * Uses a single access token of {@code vhost} from the cluster's grid (no registry involved):
   * its grant, or {@code UNAUTHORIZED}. Single use, durably: the store forgets the token before
   * the browser is told it is in.
   */
  Future<Registry.Grant> authenticate(String vhost, String token) {
    return accessTokens.take(vhost, token).compose(grant -> grant == null
        ? Future.failedFuture(Status.UNAUTHORIZED.failure())
        : store.deleteAccessToken(token).transform(written -> written.succeeded()
            ? Future.succeededFuture(grant)
            : Future.failedFuture(Status.INTERNAL_ERROR.failure())));
  }

  /** Publishes a user event to every endpoint instance on every node. Encoded once, by the caller. */
  void publish(String vhost, String channel, Frame frame) {
    vertx.eventBus().publish(Addresses.fanout(), frame,
        new DeliveryOptions().addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel));
  }

  /** Sends {@code tr} to exactly one worker of the vhost (on any node); fails if none took it in time. */
  Future<?> trigger(String vhost, String tr) {
    return vertx.eventBus().request(Addresses.workers(vhost), tr, new DeliveryOptions().setSendTimeout(triggerTimeoutMs));
  }

  /** Succeeds if the vhost exists (known here, else asked of its registry and then remembered). */
  Future<?> exists(String vhost) {
    if (knownVhosts.contains(vhost)) {
      return Future.succeededFuture();
    }
    return registry(vhost).exists().onSuccess(ok -> {
      if (knownVhosts.size() >= KNOWN_VHOSTS_MAX) {
        knownVhosts.clear();
      }
      knownVhosts.add(vhost);
    });
  }

  /** The vhost was deleted. */
  void forget(String vhost) {
    knownVhosts.remove(vhost);
  }
}
