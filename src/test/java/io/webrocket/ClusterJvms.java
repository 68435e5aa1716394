package io.webrocket;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestCluster;
import io.webrocket.test.TestNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Broker nodes in separate JVMs clustered over Hazelcast on 127.0.0.1 (TCP-IP join), each with
 * its own ports and data directory, sharing one admin cookie. A node can be killed and started
 * again on the same ports and data directory. Always close it.
 */
final class ClusterJvms implements AutoCloseable {
  final int size;
  private final String clusterName = "jvms-" + UUID.randomUUID().toString().substring(0, 8);
  private final Map<String, String> env;
  private final int[] hz;
  /** Per node: WebSocket, backend, admin port. */
  final int[][] ports;
  private final Path[] work;
  private final ChildJvm[] jvms;

  /** {@code env} goes to every node (e.g. the PostgreSQL store's settings). */
  ClusterJvms(int size, Map<String, String> env) {
    this.size = size;
    this.env = new HashMap<>(env);
    this.env.put("WEBROCKET_ADMIN_COOKIE", TestCluster.COOKIE);
    this.env.put("WEBROCKET_CLUSTER_NAME", clusterName);
    hz = new int[size];
    ports = new int[size][];
    work = new Path[size];
    jvms = new ChildJvm[size];
    for (int i = 0; i < size; i++) {
      // Bound later (and again after a restart): ports no outgoing connection can take meanwhile.
      hz[i] = TestNode.freeFixedPort();
      ports[i] = new int[] {TestNode.freeFixedPort(), TestNode.freeFixedPort(), TestNode.freeFixedPort()};
    }
  }

  /** Starts node {@code i} (again, on the same ports and data directory) and waits for its banner. */
  void start(int i) {
    launch(i);
    jvms[i].awaitStarted();
  }

  /** Starts node {@code i}'s process; does not wait for it. */
  private void launch(int i) {
    try {
      if (work[i] == null) {
        work[i] = Files.createTempDirectory("webrocket-node" + i);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    StringBuilder members = new StringBuilder();
    for (int p : hz) {
      members.append(members.length() == 0 ? "" : ",").append("127.0.0.1:").append(p);
    }
    jvms[i] = ChildJvm.start(work[i], java.util.List.of(), env,
        "-storage-dir", work[i].resolve("data").toString(), "-node-name", "n" + i,
        "-websocket-addr", "127.0.0.1:" + ports[i][0], "-backend-addr", "127.0.0.1:" + ports[i][1],
        "-admin-addr", "127.0.0.1:" + ports[i][2],
        "-cluster", "-cluster-host", "127.0.0.1", "-cluster-port", String.valueOf(hz[i]),
        "-cluster-members", members.toString());
  }

  /**
   * Starts every node: node 0 first and alone, so that it is the oldest member (the leader);
   * then the others at once, each joining node 0 (which of them joins first is left to chance).
   */
  void startAll() {
    long t0 = System.currentTimeMillis();
    start(0);
    long t1 = System.currentTimeMillis();
    startTogether(java.util.stream.IntStream.range(1, size).toArray());
    System.out.println("cluster JVMs: node 0 started in " + (t1 - t0) + " ms, the other " + (size - 1) + " together in "
        + (System.currentTimeMillis() - t1) + " ms");
  }

  /** Starts the nodes {@code which} at once (a running cluster to join is expected) and waits for every banner. */
  void startTogether(int... which) {
    for (int i : which) {
      launch(i);
    }
    for (int i : which) {
      jvms[i].awaitStarted();
    }
  }

  /** Whether node {@code i}'s process runs. */
  boolean isRunning(int i) {
    return jvms[i] != null && jvms[i].isAlive();
  }

  /** SIGKILL: no shutdown hook runs. */
  void kill(int i) {
    jvms[i].kill();
  }

  /** SIGTERM and wait (bounded) for the graceful exit. */
  void stop(int i) {
    long t0 = System.currentTimeMillis();
    jvms[i].terminate();
    jvms[i].awaitExit(30_000);
    System.out.println("cluster JVMs: node " + i + " stopped (SIGTERM) in " + (System.currentTimeMillis() - t0) + " ms");
  }

  AdminClient admin(int i) {
    return new AdminClient(ports[i][2], TestCluster.COOKIE);
  }

  int wsPort(int i) {
    return ports[i][0];
  }

  int backendPort(int i) {
    return ports[i][1];
  }

  /** Waits (bounded) until node {@code i} sees {@code members} members, a leader, and every backup in place. */
  JsonObject awaitSettled(int i, int members) {
    return TestCluster.awaitCluster(admin(i), members, true, System.currentTimeMillis() + 30_000);
  }

  /** The name of the member node {@code via} sees as leader. */
  String leaderName(int via) {
    for (Object m : admin(via).json("/cluster").getJsonArray("members")) {
      if (((JsonObject) m).getBoolean("leader")) {
        return ((JsonObject) m).getString("name");
      }
    }
    return null;
  }

  /** The last {@code lines} lines each node (as last started) printed, to explain a failed test. */
  String logTails(int lines) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < size; i++) {
      if (jvms[i] != null) {
        String[] all = jvms[i].describe().split("\n");
        b.append("---- node ").append(i).append(" (last ").append(lines).append(" lines) ----\n");
        for (int k = Math.max(0, all.length - lines); k < all.length; k++) {
          b.append(all[k]).append('\n');
        }
      }
    }
    return b.toString();
  }

  /** A JUnit extension that prints {@link #logTails} of {@code nodes} when a test fails. */
  static TestWatcher printLogsOnFailure(ClusterJvms nodes) {
    return new TestWatcher() {
      @Override
      public void testFailed(ExtensionContext context, Throwable cause) {
        System.out.println(nodes.logTails(80));
      }
    };
  }

  @Override
  public void close() {
    for (ChildJvm j : jvms) {
      if (j != null) {
        j.close();
      }
    }
  }
}
