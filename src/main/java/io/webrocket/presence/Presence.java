package io.webrocket.presence;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Frame;
import java.util.List;

/**
 * Presence channels as the browser endpoint uses them: served by this node's
 * {@link PresenceService} ({@link PresenceClient} over the local event bus), which keeps the
 * members in the cluster's {@link PresenceGrid} and announces joins and leaves to every node.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>A channel's members are listed in joining order, complete across the cluster: a join
 *       answers with every visible member that joined before it and has not left.
 *   <li>Each visible join and leave is announced once to every other member of the channel, on
 *       every node, in one order per channel (the grid's); a member gets exactly the
 *       announcements made after its list ({@link Joined#since}), never one already in it.
 *   <li>The members of a node that leaves the cluster leave (and are announced) within
 *       {@code cluster.failureDetectionMs} plus a moment.
 * </ul>
 * The edge checks the channel exists and the permission before it asks.
 */
public interface Presence {

  /**
   * A connection is a member. {@code members}: the visible members before it (itself
   * excluded), an encoded JSON array of their list entries, ready for {@code :subscribed};
   * {@code since}: the channel's sequence number as of that list (its endpoint
   * delivers only announcements numbered after it); {@code announcement}: its own
   * {@code :memberJoined}, written after the {@code :subscribed} reply (null: hidden, or it was
   * a member already); {@code missed}: announcements after its list that reached this node
   * before the answer, written after that; {@code missedUpTo}: the number of the last of them
   * ({@code since} if none), after which the endpoint's own announcements for it go on.
   */
  record Joined(String members, long since, Frame announcement, List<Frame> missed, long missedUpTo) {}

  /**
   * Connection {@code sid} of this node joins {@code channel} of {@code vhost} as {@code uid}
   * with {@code data}; {@code hidden} members are neither listed nor announced. Joining again
   * changes and announces nothing.
   */
  Future<Joined> join(String vhost, String channel, String sid, String uid, JsonObject data, boolean hidden);

  /**
   * Connection {@code sid} leaves each of {@code channels} it is a member of; a visible member's
   * leaving is announced with its data merged with {@code data} (may be null).
   */
  Future<Void> leave(String vhost, List<String> channels, String sid, JsonObject data);
}
