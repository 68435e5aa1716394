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
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster tests that need no process killed, on one cluster of three real nodes in this JVM
 * (Vert.x and Hazelcast instances on their own loopback ports, joined over TCP; node 0 started
 * first, so it is the oldest member and leads). Each case class is written on its own and
 * makes vhosts of its own; they share the cluster because starting one in a fresh JVM costs
 * more than most of them take. Node loss by {@code kill -9} is {@code NodeFailureTest}'s
 * (separate JVMs).
 *
 * <p>Order: {@link LocalPathCases} first, as it counts the requests a node serves and wants no
 * other case's leftovers; {@link PresenceClusterCases} last, as its last test stops the oldest
 * member.
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
   * its history rules, and backend limits its publishers stay under. The other cases use
   * vhosts of their own, which neither touches.
   */
  private static JsonObject config() {
    return io.webrocket.history.HistoryFixturesAccess.config()
        .put("limits", new JsonObject().put("backendRequestsPerSecond", 1_000_000).put("backendRequestsBurst", 100_000));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

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
}
