package io.webrocket.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a clustered Vert.x over Hazelcast from the {@code cluster} configuration section, and
 * answers the few questions other pieces ask about the cluster (this node's id).
 *
 * <p>Join: TCP-IP with a member list (works on 127.0.0.1 with one port per node, and with a
 * DNS name that resolves to every replica in containers) or multicast. Hazelcast never phones
 * home, and a joining node does not sit out Hazelcast's default five-second join wait.
 *
 * <p>Security (docs/security.md, "The cluster link"): Hazelcast's open-source edition has no
 * member authentication and no TLS, and its only join check is the cluster name. With {@code
 * cluster.secret} set, the name Hazelcast uses is {@code cluster.name} plus an HMAC of the secret,
 * so a member (or a Hazelcast client) without the secret is refused at that check; the name is
 * kept out of Hazelcast's log lines, where it would otherwise prefix every line. Both Hazelcast
 * and the event bus listen on one address only ({@link #resolveHost}), never on every interface.
 * The event bus, which Vert.x can secure, runs TLS with client certificates required when {@code
 * cluster.tls} or {@code tls} has a certificate ({@link #busTls}).
 */
public final class Clustering {
  private static final Logger LOG = LoggerFactory.getLogger(Clustering.class);
  /** The id a node has when it is not clustered. */
  public static final String LOCAL_NODE = io.webrocket.bus.NodeId.LOCAL;
  /** Hazelcast member attribute carrying the WebRocket node name (shown in the admin API). */
  public static final String NAME_ATTRIBUTE = "webrocket.node";

  private Clustering() {}

  /**
   * A clustered Vert.x; fails if Hazelcast cannot start or join, or if {@code cluster.host}
   * names no address of this machine. {@code serverTls} is the node's {@code tls} section.
   */
  public static Future<Vertx> start(VertxOptions options, io.vertx.core.transport.Transport transport, JsonObject cluster,
      JsonObject serverTls, String nodeName) {
    String host;
    try {
      host = resolveHost(cluster.getString("host"));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    JsonObject resolved = cluster.copy().put("host", host);
    EventBusOptions bus = options.getEventBusOptions().setHost(host).setPort(cluster.getInteger("busPort"));
    boolean busTls = busTls(bus, cluster, serverTls);
    if (!hasSecret(cluster)) {
      LOG.warn("cluster: cluster.secret is not set: any process that reaches {}:{} can join this cluster and read"
          + " its state; set it (docs/security.md)", host, cluster.getInteger("port"));
    }
    if (!busTls) {
      LOG.warn("cluster: the event bus on {} runs without TLS: any process that reaches its port can send on it;"
          + " set cluster.tls (or tls) and keep the cluster on a private network (docs/security.md)", host);
    }
    ClusterManager manager = new HazelcastClusterManager(hazelcast(resolved, nodeName));
    return Vertx.builder().with(options).withTransport(transport).withClusterManager(manager).buildClustered();
  }

  static boolean hasSecret(JsonObject cluster) {
    String secret = cluster.getString("secret");
    return secret != null && !secret.isEmpty();
  }

  /**
   * The cluster name Hazelcast uses: {@code cluster.name}, followed with a secret by the first
   * 128 bits of HMAC-SHA256(secret, name). Hazelcast refuses a joining member, and a client,
   * whose cluster name differs: without the secret nobody can compute this one. It travels in
   * clear in join messages (Hazelcast's open-source edition encrypts nothing), so it is only as
   * safe as the network it crosses: a private one (docs/security.md).
   */
  static String hazelcastClusterName(JsonObject cluster) {
    String name = cluster.getString("name");
    if (!hasSecret(cluster)) {
      return name;
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(cluster.getString("secret").getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] tag = mac.doFinal(("webrocket cluster name\n" + name).getBytes(StandardCharsets.UTF_8));
      return name + "-" + HexFormat.of().formatHex(tag, 0, 16);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
    }
  }

  /**
   * Event-bus TLS with mutual authentication: each node presents a certificate and accepts only
   * peers whose certificate the trust anchor vouches for, so a process without one can neither
   * send on the bus nor read it. Certificate and key come from {@code cluster.tls} or else from
   * {@code tls}; the trust anchor is {@code cluster.tls.ca}, or else the certificate itself
   * (nodes sharing one certificate trust exactly that one). {@code tls.clientCa} is never used
   * here: it vouches for browsers and backends, which must not reach the bus.
   *
   * @return whether TLS was turned on
   */
  static boolean busTls(EventBusOptions bus, JsonObject cluster, JsonObject serverTls) {
    JsonObject own = cluster.getJsonObject("tls", new JsonObject());
    String cert;
    String key;
    if (!busTlsConfigured(cluster, serverTls)) {
      return false;
    }
    if (own.getString("cert") != null && own.getString("key") != null) {
      cert = own.getString("cert");
      key = own.getString("key");
    } else {
      cert = serverTls.getString("cert");
      key = serverTls.getString("key");
    }
    String ca = own.getString("ca") != null ? own.getString("ca") : cert;
    bus.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert).setKeyPath(key))
        .setTrustOptions(new PemTrustOptions().addCertPath(ca))
        .setClientAuth(ClientAuth.REQUIRED);
    return true;
  }

  /** Whether {@link #busTls} turns TLS on: {@code cluster.tls} or {@code tls} has a certificate. */
  public static boolean busTlsConfigured(JsonObject cluster, JsonObject serverTls) {
    JsonObject own = cluster.getJsonObject("tls", new JsonObject());
    return (own.getString("cert") != null && own.getString("key") != null) || io.webrocket.config.Tls.enabled(serverTls);
  }

  /**
   * The one address Hazelcast and the event bus listen on. {@code auto}: this machine's first
   * IPv4 address that is up and not loopback (a container's own address), 127.0.0.1 if there is
   * none. A pattern with {@code *} ({@code 172.29.53.*}): the machine's address it matches,
   * which picks the private network's interface on a host or container with several. A name is
   * resolved; an address is taken as it is.
   */
  static String resolveHost(String configured) {
    if (configured.contains("*")) {
      String regex = configured.replace(".", "\\.").replace("*", "\\d{1,3}");
      for (InetAddress a : localAddresses()) {
        if (a.getHostAddress().matches(regex)) {
          return a.getHostAddress();
        }
      }
      throw new IllegalArgumentException("cluster.host " + configured + " matches no address of this machine "
          + localAddresses().stream().map(InetAddress::getHostAddress).toList());
    }
    if ("auto".equals(configured)) {
      return localAddresses().stream().filter(a -> !a.isLoopbackAddress()).map(InetAddress::getHostAddress)
          .findFirst().orElse("127.0.0.1");
    }
    try {
      return InetAddress.getByName(configured).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("cluster.host " + configured + " does not resolve");
    }
  }

  /** The IPv4 addresses of this machine's interfaces that are up, in the system's order. */
  private static List<InetAddress> localAddresses() {
    List<InetAddress> out = new ArrayList<>();
    try {
      for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (nif.isUp()) {
          Collections.list(nif.getInetAddresses()).stream().filter(a -> a instanceof Inet4Address).forEach(out::add);
        }
      }
    } catch (SocketException e) {
      // no interface list: the caller falls back to what it was given
    }
    return out;
  }

  /** {@code cluster} must hold a resolved host (see {@link #resolveHost}). */
  static Config hazelcast(JsonObject cluster, String nodeName) {
    // Vert.x's default configuration holds the settings of its own internal maps: keep them.
    Config config = ConfigUtil.loadConfig();
    ClusterPresenceGrid.configure(config);
    config.setClusterName(hazelcastClusterName(cluster));
    if (hasSecret(cluster)) {
      // Hazelcast prefixes every log line with the cluster name: that would print the join secret.
      config.setProperty("hazelcast.logging.details.enabled", "false");
    }
    config.setProperty("hazelcast.phone.home.enabled", "false");
    // Hazelcast's own metrics feed its Management Center and JMX, neither used here (the broker
    // exports its own on /metrics); collecting them every 5 s took about a tenth of an idle
    // node's CPU samples in a profile (docs/cluster-benchmark.md).
    config.getMetricsConfig().setEnabled(false);
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
    // One address, never every interface: the member port must stay on the private network.
    config.setProperty("hazelcast.socket.bind.any", "false");
    network.getInterfaces().setEnabled(true).addInterface(cluster.getString("host"));
    // Off by default in Hazelcast 5; said here because they would answer without any check.
    network.getRestApiConfig().setEnabled(false);
    network.getMemcacheProtocolConfig().setEnabled(false);
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
    return io.webrocket.bus.NodeId.of(vertx);
  }

  /** Member attribute where vertx-hazelcast keeps a member's Vert.x node id. */
  private static final String VERTX_NODE_ID = "__vertx.nodeId";

  /**
   * The member's Vert.x node id (the id the event bus uses), or null for a member that is not a
   * Vert.x node: a Hazelcast tool, a plain Hazelcast member that has the cluster name (and so,
   * with a secret, the secret). Such a member holds partitions but is no broker node.
   */
  public static String vertxNodeId(Member mb) {
    return mb.getAttribute(VERTX_NODE_ID);
  }

  /**
   * The cluster's members as the admin API shows them: broker nodes (with {@code id}, {@code
   * name}, {@code leader}), and any other member listed apart with its address only.
   */
  public static JsonObject members(com.hazelcast.core.HazelcastInstance hazelcast, String leader) {
    JsonArray brokers = new JsonArray();
    JsonArray others = new JsonArray();
    for (Member mb : hazelcast.getCluster().getMembers()) {
      String id = vertxNodeId(mb);
      String address = mb.getAddress().getHost() + ":" + mb.getAddress().getPort();
      if (id == null) {
        others.add(new JsonObject().put("address", address).put("local", mb.localMember()));
        continue;
      }
      brokers.add(new JsonObject()
          .put("id", id)
          .put("name", mb.getAttribute(NAME_ATTRIBUTE))
          .put("address", address)
          .put("leader", id.equals(leader))
          .put("local", mb.localMember()));
    }
    return new JsonObject().put("members", brokers).put("otherMembers", others);
  }

  /** The Hazelcast instance under a clustered Vert.x, or null. */
  static com.hazelcast.core.HazelcastInstance hazelcast(Vertx vertx) {
    return io.webrocket.vertx.VertxInternals.clusterManager(vertx) instanceof HazelcastClusterManager h ? h.getHazelcastInstance() : null;
  }
}
