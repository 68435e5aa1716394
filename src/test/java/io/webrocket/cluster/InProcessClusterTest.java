package io.webrocket.cluster;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestCluster;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.ClassOrderer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestClassOrder;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster tests that need no process killed, in one JVM, most of them on one cluster of three real nodes
 * (Vert.x and Hazelcast instances on their own loopback ports, joined over TCP; node 0 started
 * first, so it is the oldest member and leads). Each case class is written on its own and
 * makes vhosts of its own; they share the cluster because starting one in a fresh JVM costs
 * more than most of them take. Node loss by {@code kill -9} is {@code NodeFailureTest}'s
 * (separate JVMs).
 *
 * <p>One case starts a cluster of its own in this JVM, before the shared one: {@link
 * ClusterSecurityCases} (two nodes with the cluster secret and event-bus TLS); it is stopped
 * when the case is done. The docker-compose topology runs as separate processes
 * ({@code ComposeTopologyTest}), as the deployment does.
 *
 * <p>Then, on the shared cluster: {@link LocalPathCases} first, as it counts the requests a node serves and wants no
 * other case's leftovers; {@link PresenceClusterCases} next to last, as its last test stops the
 * oldest member; {@link FullRestartCases} last, as it starts that one again and then restarts
 * every node.
 */
@TestClassOrder(ClassOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class InProcessClusterTest {
  private static TestCluster cluster;

  /** The shared cluster, started by the first case that asks. */
  static synchronized TestCluster cluster() {
    if (cluster == null) {
      cluster = TestCluster.start(3, config());
    }
    return cluster;
  }

  /**
   * What the cases need together: {@link ClusterHistoryCases}' declared vhost {@code /h} with
   * its history rules and backend limits its publishers stay under, and a worker expiry longer
   * than any test. The other cases use vhosts of their own, which the history rules do not touch.
   */
  private static JsonObject config() {
    return io.webrocket.history.HistoryFixturesAccess.config()
        .put("limits", new JsonObject().put("backendRequestsPerSecond", 1_000_000).put("backendRequestsBurst", 100_000))
        // ClusterCases' workers never answer heartbeats: with the default expiry (3 s) a slow
        // machine would drop them before the triggers. The expiry has tests of its own (WorkerTest).
        .put("backend", new JsonObject().put("workerExpiryMs", 600_000));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    ClusterSecurityCases.closeShared();
  }

  @Nested
  @Order(-1)
  @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class Security extends ClusterSecurityCases {}

  @Nested
  @Order(1)
  class LocalPath extends LocalPathCases {}

  @Nested
  @Order(2)
  class Basics extends ClusterCases {}

  @Nested
  @Order(3)
  class History extends ClusterHistoryCases {}

  @Nested
  @Order(4)
  @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
  class Presence extends PresenceClusterCases {}

  @Nested
  @Order(5)
  class FullRestart extends FullRestartCases {}
}
