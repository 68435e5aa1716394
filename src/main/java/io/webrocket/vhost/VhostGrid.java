package io.webrocket.vhost;

import io.vertx.core.Future;
import java.util.List;
import java.util.Map;

/**
 * The authoritative vhosts, their tokens and their open channels, shared by the nodes: every
 * node's directory and registries read and change them here, with no request to another node.
 * One node keeps them in its own memory ({@link LocalVhostGrid}); a cluster in Hazelcast maps
 * partitioned over the members with one synchronous backup ({@code
 * io.webrocket.cluster.ClusterVhostGrid}).
 *
 * <p>Guarantees: every change is one atomic operation on the member that owns the key (a
 * create or open is a put-if-absent, a delete or close a remove), so of two nodes racing for the
 * same change exactly one is told it made it; a change that succeeded is held by two members
 * and seen by every later read on any node. A vhost's token is kept beside a SHA-256 hash of it
 * and never in clear in the cluster's maps (sealed with a key derived from the cluster secret);
 * the durable store keeps the records, for a full restart.
 */
public interface VhostGrid {

  /** Every vhost and its token. */
  Future<Map<String, String>> vhosts();

  /** The vhost's token, or null if there is no such vhost. */
  Future<String> token(String vhost);

  /** True if the vhost was created; false if it exists already. */
  Future<Boolean> createVhost(String vhost, String token);

  /** True if the vhost exists and now has {@code token}. */
  Future<Boolean> setToken(String vhost, String token);

  /** True if the vhost existed; its channels are gone with it. */
  Future<Boolean> deleteVhost(String vhost);

  /** True if the channel was opened now; false if it was open already. */
  Future<Boolean> openChannel(String vhost, String channel);

  /** True if the channel was open (and is closed now). */
  Future<Boolean> closeChannel(String vhost, String channel);

  /** Closes every channel of the vhost; the names it closed. */
  Future<List<String>> closeChannels(String vhost);

  Future<Boolean> channelOpen(String vhost, String channel);

  /** The vhost's open channels, sorted by name. */
  Future<List<String>> channels(String vhost);

  /** How many channels the vhost has open. */
  Future<Integer> channelCount(String vhost);

  /**
   * The vhost's history rules set through the admin API (their JSON), or null: the
   * configuration file's apply.
   */
  Future<String> historyRules(String vhost);

  /**
   * Sets the vhost's admin history rules ({@code rules} null removes them). Deleting the vhost
   * removes them too.
   */
  Future<Void> setHistoryRules(String vhost, String rules);

  /**
   * Whether the durable store has been copied here since the cluster formed: a full start
   * loads it once ({@link #markLoaded}); later members and leaders find the copy.
   */
  Future<Boolean> loaded();

  Future<Void> markLoaded();
}
