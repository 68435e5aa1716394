package io.webrocket.cluster;

import io.webrocket.test.TestCluster;
import io.webrocket.test.TestNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the case classes run on {@link InProcessClusterTest}'s shared cluster have in common:
 * the cluster, a name counter for vhosts of their own (the cluster outlives each case), and the
 * clients a test opens, closed after it.
 */
abstract class SharedClusterCases {
  /** Vhost names made by the cases are unique across all of them. */
  static final AtomicInteger SEQ = new AtomicInteger();
  static TestCluster cluster;
  private final List<AutoCloseable> opened = new ArrayList<>();

  /** The cluster {@link InProcessClusterTest} shares; each test makes vhosts of its own. */
  @BeforeEach
  void shared() {
    cluster = InProcessClusterTest.cluster();
  }

  @AfterEach
  void closeClients() throws Exception {
    for (AutoCloseable c : opened) {
      c.close();
    }
    opened.clear();
  }

  static TestNode n(int i) {
    return cluster.node(i);
  }

  /** {@code c}, closed after the test. */
  <T extends AutoCloseable> T track(T c) {
    opened.add(c);
    return c;
  }
}
