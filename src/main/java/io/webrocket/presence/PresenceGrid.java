package io.webrocket.presence;

import io.vertx.core.Future;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.util.List;
import java.util.function.Consumer;

/**
 * The presence members of every channel, shared by the nodes: one {@link PresenceMembers} per
 * (vhost, channel). One node keeps them in its memory ({@link LocalPresenceGrid}); a cluster in
 * a Hazelcast map partitioned over the members, each channel owned by one member with a
 * synchronous backup, every change applied by an entry processor on the owner
 * ({@code io.webrocket.cluster.ClusterPresenceGrid}). No request waits on one special member:
 * each channel's owner is whichever member the partition table says.
 *
 * <p>Guarantees: each change is atomic on its channel, and the changes of one channel are
 * applied one at a time in one order (the one their sequence numbers give); a change that
 * succeeded is held by two members (cluster), so it survives the loss of one node. A failed
 * future means the change may or may not have been applied (the grid could not be reached).
 */
public interface PresenceGrid {

  /** A member that left because its node left the cluster. */
  record Dropped(String vhost, String channel, Left left) {}

  /** Adds {@code m} to the channel's members (see {@link PresenceMembers#join}). */
  Future<Joined> join(String vhost, String channel, Member m);

  /** Removes connection {@code sid} from the channel: what it was, or null if it was not a member. */
  Future<Left> leave(String vhost, String channel, String sid);

  /**
   * Removes every member of {@code node} from every channel. Idempotent: when several nodes
   * run it for the same node, each member is in exactly one of their results.
   */
  Future<List<Dropped>> dropNode(String node);

  /** Forgets a closed channel's members (none is announced: closing drops everyone). */
  Future<Void> dropChannel(String vhost, String channel);

  /** Forgets every channel of a deleted vhost. */
  Future<Void> dropVhost(String vhost);

  /**
   * {@code handler} gets the id of each node that leaves the cluster, on the caller's context.
   * A single node never calls it.
   */
  void onNodeLeft(Consumer<String> handler);

  /** Stops listening to the cluster. */
  default void close() {}

  /** The map key of a channel: vhost paths and channel names hold no newline. */
  static String key(String vhost, String channel) {
    return vhost + "\n" + channel;
  }

  /** The vhost of a {@link #key}. */
  static String vhostOf(String key) {
    return key.substring(0, key.indexOf('\n'));
  }

  /** The channel of a {@link #key}. */
  static String channelOf(String key) {
    return key.substring(key.indexOf('\n') + 1);
  }
}
