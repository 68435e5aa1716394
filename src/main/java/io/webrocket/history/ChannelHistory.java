package io.webrocket.history;

import io.vertx.core.Future;
import io.webrocket.history.HistorySettings.Policy;
import java.util.List;

/**
 * The recent events of channels that keep a history, with their offsets and the history's epoch.
 * One node keeps them in its own memory ({@link LocalChannelHistory}); a cluster in a Hazelcast
 * {@code Ringbuffer} per channel ({@code io.webrocket.cluster.ClusterChannelHistory}).
 *
 * <p>Guarantees, for every implementation:
 * <ul>
 *   <li>Offsets are strictly increasing per channel across every node that appends; the first
 *       event of an epoch has offset 1, and offset 0 means "nothing yet".
 *   <li>The events of one {@link #append} get consecutive offsets, in the order given; two
 *       appends from one caller, the second called after the first completed, get increasing
 *       offsets.
 *   <li>An epoch names one unbroken history: while it lasts, an offset names one event forever
 *       (it may be dropped by the bounds, never replaced). Whenever what was kept is lost (the
 *       node restarted, the cluster restarted, the members holding it are gone, the channel was
 *       closed, or — in a cluster — its size or lifetime changed) the history starts again under
 *       a new epoch. A loss is never silent: it always comes with a new epoch.
 *   <li>Events leave by the policy's bounds (size, lifetime, bytes) oldest first; {@link Page#oldest}
 *       says what is still there.
 * </ul>
 * Bodies are the encoded WWFP event without its offset ({@code {"E": {...}}}); see {@link OffsetFrames}.
 */
public interface ChannelHistory {

  /** Where a channel's history stands: its epoch, the last offset given (0: none yet). */
  record Appended(String epoch, long firstOffset) {}

  /** One kept event. */
  record Entry(long offset, byte[] body) {}

  /**
   * A read: the epoch, the oldest offset still kept ({@code top + 1} when nothing is kept), the
   * last offset given, and the entries after the offset asked for (at most the limit asked for).
   */
  record Page(String epoch, long oldest, long top, List<Entry> entries) {
    /** Can a reader who has everything up to {@code offset} of {@code epoch} continue from here with nothing lost? */
    public boolean continues(String epoch, long offset) {
      return this.epoch.equals(epoch) && offset >= oldest - 1 && offset <= top;
    }
  }

  /** Keeps {@code bodies} (in order) in the history of (vhost, channel); the offset of the first. */
  Future<Appended> append(String vhost, String channel, Policy policy, List<byte[]> bodies);

  /** The entries after {@code after} (at most {@code limit}, oldest first) and where the history stands. */
  Future<Page> read(String vhost, String channel, Policy policy, long after, int limit);

  /** Forgets the channel's history (the channel was closed): a later one starts a new epoch. */
  Future<Void> drop(String vhost, String channel);

  /** The key of a channel's history. */
  static String key(String vhost, String channel) {
    return vhost + ":" + channel;
  }
}
