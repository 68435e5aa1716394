package io.webrocket.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.config.ClusterSettings;
import io.webrocket.vhost.VhostDirectory;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which node does the jobs that need exactly one member: the oldest member that has
 * not resigned. Deployed on every node when clustering is on.
 *
 * <p>Those jobs are rare and off the request paths: copying the durable store into the
 * cluster's maps when the cluster forms, creating the vhosts and channels the configuration
 * declares, and dropping the presence members of a node that died; and, until presence members
 * move to a partitioned structure of their own, serving them (see {@code VhostRegistry}). Every
 * other request (channels, tokens, single access tokens, the admin API) is answered by the node
 * that received it, from the cluster's partitioned maps ({@code ClusterVhostGrid}): the leader
 * is in none of their paths.
 *
 * <p>Leadership only moves when the leader leaves (it is never taken by a joining node: the
 * oldest member stays the oldest). The new leader's registries rebuild the presence members
 * from the replica and then it announces itself; until every node has heard that, presence
 * requests wait and retry (see {@link Bus#request}).
 */
public final class Leadership extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(Leadership.class);
  /** Cluster-wide: the id of the node doing the one-member jobs. */
  private static final String STATE_MAP = "webrocket.cluster";
  private static final String LEADER = Bus.LEADER;
  /** Taking the lead may copy the whole durable store into the grid (a full cluster start). */
  private static final long LEAD_TIMEOUT_MS = 120_000;

  /** The cluster section (it needs a restart to change). */
  private final ClusterSettings cluster;
  private HazelcastInstance hazelcast;
  private UUID listener;
  private String nodeId;
  private LocalMap<String, Object> local;
  /** True while this node leads (its directory does the one-member jobs). */
  private boolean leading;
  private boolean becoming;
  /**
   * Whether every partition has its backups, as last computed off the event loop: Hazelcast's
   * {@code isClusterSafe()} asks every member and waits for their answers, so it never runs on
   * an event loop (readiness probes call {@link #status} often).
   */
  private volatile boolean clusterSafe;
  private volatile long clusterSafeAt;
  private boolean clusterSafeRunning;
  /** How old the cached answer may be before a status request starts a new computation. */
  private static final long CLUSTER_SAFE_MAX_AGE_MS = 1_000;
  /** Leaders that stepped down gracefully but may still be members for a moment. */
  private final Set<String> resigned = new HashSet<>();

  public Leadership(ClusterSettings cluster) {
    this.cluster = cluster;
  }

  @Override
  public Future<?> start() {
    hazelcast = Clustering.hazelcast(vertx);
    nodeId = Clustering.nodeId(vertx);
    local = vertx.sharedData().getLocalMap(Bus.CLUSTER_STATE);
    Context context = vertx.getOrCreateContext();
    listener = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        context.runOnContext(v -> membershipChanged());
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        context.runOnContext(v -> membershipChanged());
      }
    });
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), this::onEvent);
    vertx.eventBus().<JsonObject>localConsumer(Addresses.cluster(), m -> m.reply(status()));
    // A node joining a running cluster learns who leads from the shared state.
    return refreshClusterSafe().recover(err -> Future.succeededFuture(false))
        .compose(x -> vertx.sharedData().<String, String>getAsyncMap(STATE_MAP))
        .compose(m -> m.get(LEADER))
        .onSuccess(leader -> {
          if (leader != null && isMember(leader) && !leader.equals(nodeId)) {
            local.put(LEADER, leader);
          }
          membershipChanged();
        });
  }

  @Override
  public Future<?> stop() {
    hazelcast.getCluster().removeMembershipListener(listener);
    local.remove(LEADER);
    if (!leading) {
      return Future.succeededFuture();
    }
    // Presence stops being served here first (no request meets half a state), then the next
    // leader may start.
    return tellDirectory(false).onComplete(x -> {
      LOG.info("cluster: this node steps down as leader");
      vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "leaderResigned").put("node", nodeId));
    });
  }

  private void onEvent(Message<JsonObject> m) {
    String type = m.body().getString("type");
    String node = m.body().getString("node");
    if ("leaderReady".equals(type)) {
      resigned.remove(node);
      local.put(LEADER, node);
    } else if ("leaderResigned".equals(type)) {
      resigned.add(node);
      leaderLost();
      membershipChanged();
    }
  }

  private void leaderLost() {
    local.remove(LEADER);
  }

  /**
   * The member's Vert.x node id (not its Hazelcast UUID): the id the event bus and registries
   * use; null for a member that is no Vert.x node (see {@link Clustering#vertxNodeId}).
   */
  private static String idOf(Member mb) {
    return Clustering.vertxNodeId(mb);
  }

  private boolean isMember(String id) {
    return hazelcast.getCluster().getMembers().stream().anyMatch(mb -> id.equals(idOf(mb)));
  }

  private void membershipChanged() {
    Set<Member> members = hazelcast.getCluster().getMembers();
    String leader = (String) local.get(LEADER);
    if (leader != null && !isMember(leader)) {
      LOG.warn("cluster: leader {} is gone; waiting for the next one", leader);
      leaderLost();
    }
    resigned.removeIf(id -> !isMember(id));
    // Only a broker node can lead: a member without a Vert.x node id runs no registries.
    Member oldest = members.stream().filter(mb -> idOf(mb) != null && !resigned.contains(idOf(mb))).findFirst().orElse(null);
    LOG.info("cluster: {} members", members.size());
    if (oldest != null && oldest.localMember() && !leading && !becoming) {
      lead();
    } else if (leading && oldest != null && !oldest.localMember()) {
      stepDown();
    }
  }

  /**
   * Another member is older: two clusters that formed apart have merged. The older side's leader
   * keeps serving (its state wins); this node's registries stop.
   */
  private void stepDown() {
    LOG.warn("cluster: an older member leads after a merge; this node steps down");
    leading = false;
    leaderLost();
    tellDirectory(false).onFailure(err -> LOG.error("cluster: stepping down: {}", err.getMessage()));
  }

  /** This node's directory starts or stops the one-member jobs. */
  private Future<Void> tellDirectory(boolean lead) {
    return vertx.eventBus().request(Addresses.vhosts(), new JsonObject().put("lead", lead),
            new io.vertx.core.eventbus.DeliveryOptions().addHeader(Addresses.ACTION, VhostDirectory.LEAD)
                .setLocalOnly(true).setSendTimeout(LEAD_TIMEOUT_MS))
        .mapEmpty();
  }

  private void lead() {
    becoming = true;
    LOG.info("cluster: this node ({}) becomes the leader", nodeId);
    tellDirectory(true)
        .compose(id -> {
          leading = true;
          return vertx.sharedData().<String, String>getAsyncMap(STATE_MAP).compose(m -> m.put(LEADER, nodeId));
        })
        .onComplete(done -> {
          becoming = false;
          if (done.failed()) {
            LOG.error("cluster: could not take the lead: {}; retrying", done.cause().getMessage());
            vertx.setTimer(1_000, t -> membershipChanged());
            return;
          }
          local.put(LEADER, nodeId);
          vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "leaderReady").put("node", nodeId));
          LOG.info("cluster: leader ready");
        });
  }

  /** The cached answer; a new one is computed on a worker thread when it is older than a second. */
  private boolean clusterSafe() {
    if (!clusterSafeRunning && System.currentTimeMillis() - clusterSafeAt > CLUSTER_SAFE_MAX_AGE_MS) {
      refreshClusterSafe();
    }
    return clusterSafe;
  }

  private Future<Boolean> refreshClusterSafe() {
    clusterSafeRunning = true;
    return vertx.executeBlocking(() -> hazelcast.getPartitionService().isClusterSafe(), false)
        .onComplete(r -> {
          clusterSafeRunning = false;
          clusterSafeAt = System.currentTimeMillis();
          clusterSafe = r.succeeded() && r.result();
        });
  }

  private JsonObject status() {
    String leader = (String) local.get(LEADER);
    JsonObject members = Clustering.members(hazelcast, leader);
    return new JsonObject()
        .put("enabled", true)
        .put("name", cluster.name())
        .put("node", nodeId)
        .put("leader", leader)
        .put("minMembers", cluster.minMembers())
        // Every partition has its backup in place: losing one more node now loses nothing.
        .put("safe", clusterSafe())
        .put("members", members.getJsonArray("members"))
        .put("otherMembers", members.getJsonArray("otherMembers"));
  }
}
