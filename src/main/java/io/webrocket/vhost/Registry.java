package io.webrocket.vhost;

import io.vertx.core.Future;
import java.util.List;

/**
 * What one vhost's registry answers: its channels; it issues single access tokens (used
 * through the {@link AccessTokenGrid}) and lists the workers of every node. Served by {@link
 * VhostRegistry} on every node, from the {@link VhostGrid} the nodes share; every other piece (browser and backend
 * endpoints, admin API, vhost directory) uses it through {@link RegistryClient}. The wire format
 * between the two is in one place, {@link RegistryActions}.
 *
 * <p>Guarantees (every method):
 * <ul>
 *   <li>A failed future carries the protocol status as a {@code ReplyException} failure code
 *       ({@link io.webrocket.protocol.Status#failure()}); a vhost that does not exist fails with
 *       {@code NO_HANDLERS}, which callers map with {@link io.webrocket.bus.Bus#statusOf}.
 *   <li>Requests of one caller take effect in the order they were sent (pipelined WBP requests
 *       in particular).
 *   <li>A change succeeds only once it is durable (the store) and, in a cluster, held by two
 *       members: what a caller was told is done survives the loss of any one node.
 *   <li>Nothing here knows a wire protocol: no WBP command or WWFP event names. The edges
 *       translate.
 * </ul>
 *
 * <p>Callers that present the vhost's token ({@code token} parameters) are refused with
 * {@code UNAUTHORIZED} before anything else is checked.
 */
public interface Registry {

  /** The vhost as the admin API shows it. */
  record Info(String path, String accessToken, int channels) {}

  /** An open channel and how many subscribers it has. */
  record ChannelInfo(String name, int subscribers) {}

  /** What a single access token granted: the user id and the permission regexp. */
  record Grant(String uid, String permission) {}

  /** Whether an open of an existing channel is an error (the operator's) or a no-op (a backend's). */
  enum IfOpen { FAIL, SUCCEED }

  /** Succeeds while the vhost exists. */
  Future<Void> exists();

  Future<Info> info();

  /**
   * This node's registry takes the vhost's new token. Only the directory calls it, on every
   * node, after the token is durable and in the {@link VhostGrid} and before it confirms the
   * change (so no node accepts the old token once the operator hears back).
   */
  Future<Void> setToken(String token);

  // ---- browsers (presence members are not the registry's: see io.webrocket.presence) ----

  /**
   * Succeeds if {@code channel} is open, else {@code CHANNEL_NOT_FOUND}. A node may remember a
   * success in its {@link NodeView}: {@link #closeChannel} makes every node forget it first.
   */
  Future<Void> channelExists(String channel);

  // ---- backends ----

  /** Succeeds when {@code token} is the vhost's token. */
  Future<Void> identify(String token);

  /**
   * Succeeds when a backend with {@code token} may broadcast on {@code channel} (the token is
   * the vhost's, the channel is open). The backend's node publishes the frame itself, so that a
   * connection's broadcasts leave in order from one place; it may remember the answer in its
   * {@link NodeView} (see {@link #setToken} and {@link #closeChannel}).
   */
  Future<Void> checkBroadcast(String token, String channel);

  /**
   * A single access token for {@code uid} with {@code permission} (a regexp): {@code BAD_REQUEST}
   * if either is missing or invalid. On success it is durable and in the {@link AccessTokenGrid},
   * where any node's endpoint uses it (once) without asking the registry.
   */
  Future<String> issueAccessToken(String token, String uid, String permission);

  // ---- channels: backends (token) and the operator (token null: already authenticated) ----

  /**
   * Opens a channel: {@code BAD_REQUEST} for a missing name, {@code INVALID_CHANNEL_NAME},
   * {@code TOO_MANY_REQUESTS} over the vhost's channel limit; an open channel is
   * {@code BAD_REQUEST} or success as {@code ifOpen} says. On success the channel exists on
   * every node, and a second open of the same channel succeeds only once the first one has.
   */
  Future<Void> openChannel(String token, String channel, IfOpen ifOpen);

  /**
   * Closes a channel ({@code CHANNEL_NOT_FOUND} if not open): every subscriber is dropped without
   * a notice, and on success it is gone on every node.
   */
  Future<Void> closeChannel(String token, String channel);

  /** Closes every channel of the vhost (operator only). */
  Future<Void> closeChannels();

  // ---- views (operator) ----

  /** The open channels with their subscribers, counted on every node when asked. */
  Future<List<ChannelInfo>> channels();

  Future<ChannelInfo> channel(String name);

  /**
   * The vhost's workers, gathered from every node when asked: a worker stays with the node it
   * is connected to, and only that node lists it.
   */
  Future<List<String>> workers();
}
