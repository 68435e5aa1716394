package io.webrocket.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.webrocket.presence.LocalPresenceGrid;
import io.webrocket.presence.PresenceGrid;
import io.webrocket.presence.PresenceMembers;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * {@link PresenceGrid} in the Hazelcast map {@code webrocket.presence}: one entry per channel
 * (key {@link PresenceGrid#key}), partitioned over the members with one synchronous backup. Every
 * change is an entry processor: it runs on the partition thread of the key's owner, one at a time
 * per key, and Hazelcast applies the same processor to the backup (the processors are
 * deterministic), so the owner and its backup agree on the members and the sequence.
 *
 * <p>Processors are {@link java.io.Serializable} (Java serialization, Hazelcast 5's fallback),
 * and the map keeps values as objects ({@link InMemoryFormat#OBJECT}): a join appends to the
 * owner's list instead of deserializing and serializing the whole list each time; only its
 * result (the list as of the join) travels back.
 *
 * <p>Only the asynchronous calls run on an event loop; a scan of every entry (a node left, a
 * vhost deleted: rare) runs on a worker thread.
 */
public final class ClusterPresenceGrid implements PresenceGrid {
  static final String MAP = "webrocket.presence";

  private final Vertx vertx;
  private final HazelcastInstance hazelcast;
  private final IMap<String, PresenceMembers> map;
  private UUID listener;

  private ClusterPresenceGrid(Vertx vertx, HazelcastInstance hazelcast, IMap<String, PresenceMembers> map) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.map = map;
  }

  /** The grid a node uses: this one when clustered, else {@link LocalPresenceGrid}. */
  public static Future<PresenceGrid> of(Vertx vertx) {
    HazelcastInstance hazelcast = Clustering.hazelcast(vertx);
    if (hazelcast == null) {
      return Future.succeededFuture(new LocalPresenceGrid());
    }
    // The proxy's first creation may talk to other members: off the event loop.
    return vertx.executeBlocking(() -> new ClusterPresenceGrid(vertx, hazelcast, hazelcast.<String, PresenceMembers>getMap(MAP)));
  }

  /** The map's configuration, added to the node's Hazelcast configuration at start. */
  static void configure(Config config) {
    config.addMapConfig(new MapConfig(MAP).setBackupCount(1).setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.OBJECT));
  }

  private <T> Future<T> on(java.util.concurrent.CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext());
  }

  @Override
  public Future<Joined> join(String vhost, String channel, Member m) {
    return on(map.submitToKey(PresenceGrid.key(vhost, channel), new JoinProcessor(m)));
  }

  @Override
  public Future<Left> leave(String vhost, String channel, String sid) {
    return on(map.submitToKey(PresenceGrid.key(vhost, channel), new LeaveProcessor(sid)));
  }

  @Override
  public Future<List<Dropped>> dropNode(String node) {
    return vertx.executeBlocking(() -> {
      Map<String, ArrayList<Left>> results = map.executeOnEntries(new DropNodeProcessor(node),
          e -> e.getValue() != null && e.getValue().hasNode(node));
      List<Dropped> dropped = new ArrayList<>();
      results.forEach((key, lefts) -> {
        if (lefts != null) {
          lefts.forEach(l -> dropped.add(new Dropped(PresenceGrid.vhostOf(key), PresenceGrid.channelOf(key), l)));
        }
      });
      return dropped;
    }, false);
  }

  @Override
  public Future<Void> dropChannel(String vhost, String channel) {
    return on(map.removeAsync(PresenceGrid.key(vhost, channel))).mapEmpty();
  }

  @Override
  public Future<Void> dropVhost(String vhost) {
    String prefix = vhost + "\n";
    return vertx.executeBlocking(() -> {
      map.removeAll((com.hazelcast.query.Predicate<String, PresenceMembers>) e -> e.getKey().startsWith(prefix));
      return null;
    }, false);
  }

  @Override
  public void onNodeLeft(Consumer<String> handler) {
    Context context = vertx.getOrCreateContext();
    listener = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {}

      @Override
      public void memberRemoved(MembershipEvent e) {
        String node = Clustering.vertxNodeId(e.getMember());
        if (node != null) {
          context.runOnContext(v -> handler.accept(node));
        }
      }
    });
  }

  @Override
  public void close() {
    if (listener != null) {
      hazelcast.getCluster().removeMembershipListener(listener);
    }
  }

  /** Adds a member on the channel's owner (and again on its backup). */
  static final class JoinProcessor implements EntryProcessor<String, PresenceMembers, Joined> {
    private static final long serialVersionUID = 1L;
    private final Member member;

    JoinProcessor(Member member) {
      this.member = member;
    }

    @Override
    public Joined process(Map.Entry<String, PresenceMembers> entry) {
      PresenceMembers members = entry.getValue() == null ? new PresenceMembers() : entry.getValue();
      Joined joined = members.join(member);
      if (joined.added()) {
        entry.setValue(members);
      }
      return joined;
    }
  }

  /** Removes a member by connection; null if it was not there. */
  static final class LeaveProcessor implements EntryProcessor<String, PresenceMembers, Left> {
    private static final long serialVersionUID = 1L;
    private final String sid;

    LeaveProcessor(String sid) {
      this.sid = sid;
    }

    @Override
    public Left process(Map.Entry<String, PresenceMembers> entry) {
      PresenceMembers members = entry.getValue();
      if (members == null) {
        return null;
      }
      Left left = members.leave(sid);
      if (left != null) {
        // An empty channel keeps its entry: its sequence goes on (see PresenceStreams).
        entry.setValue(members);
      }
      return left;
    }
  }

  /**
   * Removes a departed node's members. Every surviving node runs it: the first to reach an
   * entry removes them and gets them back, the others find nothing there (an empty result), so
   * each member's leaving is announced exactly once.
   */
  static final class DropNodeProcessor implements EntryProcessor<String, PresenceMembers, ArrayList<Left>> {
    private static final long serialVersionUID = 1L;
    private final String node;

    DropNodeProcessor(String node) {
      this.node = node;
    }

    @Override
    public ArrayList<Left> process(Map.Entry<String, PresenceMembers> entry) {
      PresenceMembers members = entry.getValue();
      if (members == null) {
        return null;
      }
      List<Left> gone = members.dropNode(node);
      if (gone.isEmpty()) {
        return null;
      }
      entry.setValue(members);
      return new ArrayList<>(gone);
    }
  }
}
