package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.webrocket.test.Await;
import io.webrocket.test.TestCluster;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster link secured without Hazelcast's commercial edition (docs/security.md): a node or
 * a Hazelcast client with the right cluster name but without the secret is refused at Hazelcast's
 * join check and sees none of the cluster's state; nodes with the secret and event-bus TLS form a
 * cluster a broadcast crosses, and the bus accepts only peers with a trusted certificate; a member
 * that is no Vert.x node breaks neither {@code /ready} nor {@code /cluster}. Real nodes on
 * 127.0.0.1, certificates made by the {@code openssl} CLI.
 *
 * <p>Run by {@link InProcessClusterTest}, with a pair of nodes of its own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
abstract class ClusterSecurityCases {
  private static final String SECRET = "correct horse battery staple 42";
  private static Path certs;
  private static Vertx VERTX;

  /** Certificates, the shared pair of nodes and a client Vert.x, made by the first test that runs. */
  @BeforeEach
  void prepare() throws Exception {
    if (cluster == null) {
      certificates();
      VERTX = Vertx.vertx();
      cluster = TestCluster.start(2, secured());
    }
  }

  private static void certificates() throws Exception {
    certs = Files.createTempDirectory("webrocket-cluster-tls");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=webrocket test cluster CA");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1");
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1", "-days", "2",
        "-out", "node.pem");
    // A stranger's own certificate: well formed, but no CA of the cluster vouches for it.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2",
        "-subj", "/CN=127.0.0.1");
  }

  /**
   * Two nodes with the secret and event-bus TLS, shared by the tests (each a vhost of its own):
   * starting a cluster costs more than most tests take.
   */
  private static TestCluster cluster;

  /** The pair of nodes stops when this class's tests are done (the nested class runs per class). */
  @AfterAll
  void stopPair() {
    closeShared();
  }

  /** Also called by {@link InProcessClusterTest} at its end, in case this class did not finish. */
  static void closeShared() {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
    if (VERTX != null) {
      VERTX.close();
      VERTX = null;
    }
  }

  private static void openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(certs.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "openssl " + args[0]);
    assertEquals(0, p.exitValue(), "openssl " + String.join(" ", args) + ": " + out);
  }

  private static String file(String name) {
    return certs.resolve(name).toString();
  }

  private static JsonObject secured() {
    return new JsonObject().put("cluster", new JsonObject()
        .put("secret", SECRET)
        .put("tls", new JsonObject().put("cert", file("node.pem")).put("key", file("node.key")).put("ca", file("ca.pem"))));
  }

  /** Node {@code i}'s cluster section, as a stranger started beside the cluster would copy it. */
  private static JsonObject strangerConfig(TestCluster c, JsonObject clusterChanges) {
    JsonObject cfg = c.nodeConfig(0);
    int port = TestNode.freeFixedPort();
    JsonObject cl = cfg.getJsonObject("cluster");
    cl.put("port", port).put("members", cl.getJsonArray("members").copy().add("127.0.0.1:" + port));
    cl.mergeIn(clusterChanges, true);
    cfg.getJsonObject("node").put("name", "stranger");
    return cfg;
  }

  private static int members(TestNode n) {
    return n.admin().json("/cluster").getJsonArray("members").size();
  }

  @Test
  @Order(1)
  void aNodeWithTheRightClusterNameButNoOrAWrongSecretIsRefusedAndSeesNothing() {
    TestCluster c = cluster;
    TestNode node = c.node(0);
    String vhost = "/guarded";
    node.createVhost(vhost);
    for (JsonObject changes : List.of(new JsonObject().putNull("secret").put("tls", new JsonObject().putNull("cert").putNull("key").putNull("ca")),
        new JsonObject().put("secret", "a wrong secret of enough length"))) {
      try (TestNode stranger = TestNode.start(strangerConfig(c, changes))) {
        // Refused at the join check: it formed a cluster of its own, and the cluster has no new member.
        assertEquals(1, members(stranger), changes.encode());
        // A late merge attempt would show within 1.5 s (a stated bound).
        Await.never(1_500, "a merge: " + changes.encode(), () -> members(node) != 2 || members(stranger) != 1);
        assertEquals(1, members(stranger), changes.encode());
        // None of the cluster's state reaches it: the vhost is unknown there.
        assertEquals(404, stranger.admin().call("GET", vhost).statusCode(), changes.encode());
      }
    }
    assertEquals(200, node.admin().call("GET", vhost).statusCode());
  }

  @Test
  @Order(2)
  void aHazelcastClientNeedsTheSecretToReadTheMaps() {
    TestCluster c = cluster;
    c.node(0).createVhost("/guarded-client");
    JsonObject cluster = c.node(0).node.config().getJsonObject("cluster");
    String address = "127.0.0.1:" + cluster.getInteger("port");
    // The configured name alone, as anyone reaching the port could try it: refused.
    assertThrows(IllegalStateException.class, () -> client(cluster.getString("name"), address).shutdown());
    // Control: the name derived from the secret is what the cluster answers to.
    HazelcastInstance ok = client(Clustering.hazelcastClusterName(cluster), address);
    try {
      assertFalse(ok.getDistributedObjects().isEmpty(), "the secret's holder sees the cluster's structures");
    } finally {
      ok.shutdown();
    }
  }

  private static HazelcastInstance client(String clusterName, String address) {
    ClientConfig cc = new ClientConfig();
    cc.setClusterName(clusterName);
    cc.setProperty("hazelcast.logging.type", "slf4j");
    cc.getNetworkConfig().addAddress(address);
    cc.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(3_000);
    return HazelcastClient.newHazelcastClient(cc);
  }

  @Test
  @Order(3)
  void twoNodesWithTheSecretAndTlsFormAClusterABroadcastCrossesItAndTheBusRefusesStrangers() {
    TestCluster c = cluster;
    String vhost = "/tls";
    String token = c.node(0).createVhost(vhost);
    try (WbpClient w = c.node(0).wbp()) {
      assertEquals(List.of("OK", ""), w.request(WbpClient.identity("req", vhost, token), "OC", "news"));
    }
    try (WsClient sub = firstCrossNode(() -> c.node(1).ws(vhost))) {
      sub.subscribe("news");
      // The first publish from node 0 also opens its TLS connection to node 1: on a loaded
      // machine the handshake can outlast WsClient's 5 s, so it is sent again (bounded: 60 s).
      long deadline = System.currentTimeMillis() + 60_000;
      for (int n = 1; ; n++) {
        try (WbpClient w = c.node(0).wbp()) {
          assertEquals(List.of("OK", ""), w.request(WbpClient.identity("req", vhost, token), "BC", "news", "flash",
              new JsonObject().put("n", n).encode()));
        }
        try {
          assertTrue(sub.expect("flash").getInteger("n") >= 1, "crossed from node 0 to node 1 over the TLS event bus");
          break;
        } catch (AssertionError slow) {
          if (System.currentTimeMillis() > deadline) {
            throw slow;
          }
        }
      }
    }

    int busPort = ((VertxInternal) c.node(1).node.vertx()).clusterManager().getNodeInfo().port();
    // Control: a peer with a certificate the cluster's CA signed completes the handshake and stays connected.
    assertFalse(refused(new NetClientOptions().setSsl(true).setTrustOptions(new PemTrustOptions().addCertPath(file("ca.pem")))
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(file("node.pem")).setKeyPath(file("node.key"))), busPort),
        "a node's certificate is accepted");
    assertTrue(refused(new NetClientOptions(), busPort), "plain TCP");
    assertTrue(refused(new NetClientOptions().setSsl(true).setTrustAll(true), busPort), "TLS without a certificate");
    assertTrue(refused(new NetClientOptions().setSsl(true).setTrustAll(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(file("rogue.pem")).setKeyPath(file("rogue.key"))), busPort),
        "TLS with a certificate the cluster does not trust");
  }

  /**
   * The first request that crosses nodes also opens the TLS connection between them: on a
   * loaded machine the handshakes can outlast WsClient's 5 s, so it is retried (bounded: 60 s).
   */
  private static WsClient firstCrossNode(java.util.function.Supplier<WsClient> open) {
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        return open.get();
      } catch (AssertionError | IllegalStateException e) {
        if (System.currentTimeMillis() > deadline) {
          throw e;
        }
      }
    }
  }

  /**
   * Connects to the event bus port and offers a few bytes; refused means the connection or the
   * handshake failed, or the server closed the socket within 5 s. Accepted: open 1.5 s later.
   */
  private static boolean refused(NetClientOptions options, int port) {
    // The test certificates name no host: the question here is whether the server accepts the client.
    NetClient client = VERTX.createNetClient(options.setConnectTimeout(5_000).setHostnameVerificationAlgorithm(""));
    try {
      CompletableFuture<Void> closed = new CompletableFuture<>();
      NetSocket so;
      try {
        // The close handler is set on the event loop as the connection completes: with TLS 1.3
        // the server checks the client's certificate after the client's handshake is done, and its
        // refusal can close the socket before this thread would get to set the handler (CI saw it).
        so = client.connect(port, "127.0.0.1")
            .map(s -> s.closeHandler(v -> closed.complete(null)))
            .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        return true;
      }
      if (!options.isSsl()) {
        so.write("GET / HTTP/1.1\r\n\r\n");
      }
      try {
        closed.get(options.isSsl() && options.getKeyCertOptions() != null && !options.isTrustAll() ? 1_500 : 5_000,
            TimeUnit.MILLISECONDS);
        return true;
      } catch (java.util.concurrent.TimeoutException stillOpen) {
        so.close();
        return false;
      } catch (Exception e) {
        return true;
      }
    } finally {
      client.close();
    }
  }

  /** Last: a member that is no broker joins the shared cluster (and leaves it). */
  @Test
  @Order(4)
  void aMemberThatIsNoVertxNodeBreaksNeitherReadyNorCluster() {
    TestCluster c = cluster;
    JsonObject cluster = c.node(0).node.config().getJsonObject("cluster").copy();
    int port = TestNode.freeFixedPort();
    cluster.put("port", port).put("host", "127.0.0.1");
    // A plain Hazelcast member (a tool, say) that has the secret: it joins, but carries no Vert.x node id.
    HazelcastInstance plain = Hazelcast.newHazelcastInstance(Clustering.hazelcast(cluster, "tool"));
    try {
      long deadline = System.currentTimeMillis() + 30_000;
      JsonObject status;
      while (true) {
        HttpResponse<String> r = c.node(0).admin().call("GET", "/cluster");
        assertEquals(200, r.statusCode(), r.body());
        status = new JsonObject(r.body());
        if (status.getJsonArray("otherMembers", new io.vertx.core.json.JsonArray()).size() == 1
            || System.currentTimeMillis() > deadline) {
          break;
        }
        TestCluster.sleep(100);
      }
      assertEquals(1, status.getJsonArray("otherMembers").size(), status.encodePrettily());
      assertEquals("127.0.0.1:" + port, status.getJsonArray("otherMembers").getJsonObject(0).getString("address"));
      assertEquals(2, status.getJsonArray("members").size(), "only broker nodes are listed as members");
      assertEquals(c.node(0).node.config().getJsonObject("node").getString("name"),
          status.getJsonArray("members").getJsonObject(0).getString("name"));
      assertTrue(status.getJsonArray("members").getJsonObject(0).getBoolean("leader"), "the oldest broker node still leads");
      HttpResponse<String> ready = c.node(0).admin().call("GET", "/ready");
      assertEquals(200, ready.statusCode(), ready.body());
      // And the broker keeps serving.
      c.node(0).createVhost("/still");
    } finally {
      plain.shutdown();
    }
  }
}
