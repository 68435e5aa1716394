package io.webrocket.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a clustered Vert.x over Hazelcast from the {@code cluster} configuration section, and
 * answers the few questions other pieces ask about the cluster (this node's id).
 *
 * <p>Join: TCP-IP with a member list (works on 127.0.0.1 with one port per node, and with a
 * DNS name that resolves to every replica in containers) or multicast. Hazelcast never phones
 * home, and a joining node does not sit out Hazelcast's default five-second join wait.
 */
public final class Clustering {
  /** The id a node has when it is not clustered. */
  public static final String LOCAL_NODE = "local";
  /** Hazelcast member attribute carrying the WebRocket node name (shown in the admin API). */
  public static final String NAME_ATTRIBUTE = "webrocket.node";

  private Clustering() {}

  public static boolean enabled(JsonObject config) {
    return config.getJsonObject("cluster").getBoolean("enabled");
  }

  /** A clustered Vert.x; fails if Hazelcast cannot start or join. */
  public static Future<Vertx> start(VertxOptions options, io.vertx.core.transport.Transport transport, JsonObject cluster,
      String nodeName) {
    String host = cluster.getString("host");
    if (!"auto".equals(host)) {
      options.getEventBusOptions().setHost(host);
    }
    options.getEventBusOptions().setPort(cluster.getInteger("busPort"));
    ClusterManager manager = new HazelcastClusterManager(hazelcast(cluster, nodeName));
    return Vertx.builder().with(options).withTransport(transport).withClusterManager(manager).buildClustered();
  }

  static Config hazelcast(JsonObject cluster, String nodeName) {
    // Vert.x's default configuration holds the settings of its own internal maps: keep them.
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(cluster.getString("name"));
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.logging.type", "slf4j");
    long detectSeconds = Math.max(1, cluster.getLong("failureDetectionMs") / 1000);
    config.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(detectSeconds));
    config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    // Two clusters that formed apart (nodes started together, a healed network) look for each
    // other and merge every 10 s instead of Hazelcast's first try after 5 minutes.
    config.setProperty("hazelcast.merge.first.run.delay.seconds", "10");
    config.setProperty("hazelcast.merge.next.run.delay.seconds", "10");
    config.getMemberAttributeConfig().setAttribute(NAME_ATTRIBUTE, nodeName);

    NetworkConfig network = config.getNetworkConfig();
    network.setPort(cluster.getInteger("port")).setPortAutoIncrement(false);
    String host = cluster.getString("host");
    if (!"auto".equals(host)) {
      config.setProperty("hazelcast.socket.bind.any", "false");
      network.getInterfaces().setEnabled(true).addInterface(host);
    }
    JoinConfig join = network.getJoin();
    join.getAutoDetectionConfig().setEnabled(false);
    boolean multicast = "multicast".equals(cluster.getString("join"));
    join.getMulticastConfig().setEnabled(multicast);
    join.getTcpIpConfig().setEnabled(!multicast);
    if (!multicast) {
      // Listed one by one: Hazelcast rejects port ranges here.
      members(cluster.getJsonArray("members")).forEach(m -> join.getTcpIpConfig().addMember(m));
    }
    return config;
  }

  /**
   * The TCP-IP member list with every host name replaced by all of its addresses. Hazelcast
   * itself resolves a name to its first address only: behind a DNS name that lists every
   * replica (a docker compose service), a node whose first answer was itself would form a
   * cluster of its own. A name that does not resolve (yet) is kept for Hazelcast to retry.
   */
  static List<String> members(JsonArray configured) {
    List<String> out = new ArrayList<>();
    for (Object o : configured) {
      String m = (String) o;
      int colon = m.lastIndexOf(':');
      String host = colon > 0 ? m.substring(0, colon) : m;
      String port = colon > 0 ? m.substring(colon) : "";
      try {
        for (InetAddress a : InetAddress.getAllByName(host)) {
          if (!(a instanceof java.net.Inet4Address)) {
            continue; // Hazelcast runs on the IPv4 stack by default
          }
          String member = a.getHostAddress() + port;
          if (!out.contains(member)) {
            out.add(member);
          }
        }
      } catch (UnknownHostException e) {
        out.add(m);
      }
    }
    return out;
  }

  /** This node's id in the cluster ({@link #LOCAL_NODE} when not clustered). */
  public static String nodeId(Vertx vertx) {
    ClusterManager cm = ((VertxInternal) vertx).clusterManager();
    return cm == null ? LOCAL_NODE : cm.getNodeId();
  }

  /** The Hazelcast instance under a clustered Vert.x, or null. */
  static com.hazelcast.core.HazelcastInstance hazelcast(Vertx vertx) {
    return ((VertxInternal) vertx).clusterManager() instanceof HazelcastClusterManager h ? h.getHazelcastInstance() : null;
  }
}
