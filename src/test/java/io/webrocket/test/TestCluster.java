package io.webrocket.test;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Real broker nodes in this JVM clustered over Hazelcast on 127.0.0.1 (TCP-IP join, one member
 * port each), sharing one admin cookie. Started one after the other, so node 0 leads.
 */
public final class TestCluster implements AutoCloseable {
  public static final String COOKIE = "0123456789abcdef0123456789abcdef01234567";

  public final List<TestNode> nodes = new ArrayList<>();
  private final JsonObject clusterSection;
  private final JsonObject overrides;

  private TestCluster(JsonObject clusterSection, JsonObject overrides) {
    this.clusterSection = clusterSection;
    this.overrides = overrides;
  }

  /** {@code size} nodes; {@code overrides} merged over each node's configuration. */
  public static TestCluster start(int size, JsonObject overrides) {
    JsonArray members = new JsonArray();
    for (int i = 0; i < size; i++) {
      members.add("127.0.0.1:" + TestNode.freeFixedPort());
    }
    JsonObject section = new JsonObject()
        .put("enabled", true)
        // A name of its own: no other test's nodes can ever join this cluster.
        .put("name", "test-" + UUID.randomUUID().toString().substring(0, 8))
        .put("host", "127.0.0.1")
        .put("members", members)
        .put("failureDetectionMs", 2_000);
    TestCluster c = new TestCluster(section, overrides);
    try {
      for (int i = 0; i < size; i++) {
        c.nodes.add(c.startNode(i));
      }
      c.awaitMembers(size);
    } catch (RuntimeException | Error e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Member {@code i}'s configuration (its Hazelcast port is the i-th of the member list). */
  public JsonObject nodeConfig(int i) {
    String member = clusterSection.getJsonArray("members").getString(i);
    int port = Integer.parseInt(member.substring(member.indexOf(':') + 1));
    return new JsonObject()
        .put("node", new JsonObject().put("name", "n" + i))
        .put("admin", new JsonObject().put("cookie", COOKIE))
        .put("cluster", clusterSection.copy().put("port", port))
        .mergeIn(overrides.copy(), true);
  }

  private TestNode startNode(int i) {
    return TestNode.start(nodeConfig(i));
  }

  public TestNode node(int i) {
    return nodes.get(i);
  }

  /** Nodes stopped by {@link #stop} and not started again. */
  private final java.util.Set<Integer> stopped = new java.util.HashSet<>();

  /** Stops node {@code i} gracefully, as SIGTERM does; {@link #restart} starts it again. */
  public void stop(int i) {
    if (stopped.add(i)) {
      nodes.get(i).close();
    }
  }

  /** Whether node {@code i} was stopped by {@link #stop} and not started again. */
  public boolean isStopped(int i) {
    return stopped.contains(i);
  }

  /** Starts a stopped node {@code i} again on its ports and data directory. */
  public void restart(int i) {
    TestNode old = nodes.get(i);
    if (!stopped.contains(i)) {
      throw new IllegalStateException("node " + i + " runs");
    }
    JsonObject config = nodeConfig(i).mergeIn(new JsonObject()
        .put("websocket", new JsonObject().put("port", old.wsPort))
        .put("backend", new JsonObject().put("port", old.backendPort))
        .put("admin", new JsonObject().put("port", old.adminPort)), true);
    nodes.set(i, TestNode.start(old.dataDir, config));
    stopped.remove(i);
  }

  /** Waits (bounded) until every node sees {@code size} members and a serving leader. */
  public void awaitMembers(int size) {
    long deadline = System.currentTimeMillis() + 20_000;
    for (TestNode n : nodes) {
      awaitCluster(n.admin(), size, false, deadline);
    }
  }

  /**
   * Polls {@code GET /cluster} through {@code admin} until it lists {@code members} members and a
   * serving leader and, if {@code safe}, every backup in place; fails once {@code deadline} (ms) passes.
   */
  public static JsonObject awaitCluster(AdminClient admin, int members, boolean safe, long deadline) {
    return Await.until(Math.max(0, deadline - System.currentTimeMillis()), "cluster settled", () -> admin.json("/cluster"),
        c -> c.getJsonArray("members").size() == members && c.getString("leader") != null
            && (!safe || c.getBoolean("safe")));
  }

  /** Kept for the tests that call it: {@link Await#pause}. */
  public static void sleep(long ms) {
    Await.pause(ms);
  }

  @Override
  public void close() {
    // The followers first: the leader's registries serve their goodbyes.
    for (int i = nodes.size() - 1; i >= 0; i--) {
      try {
        stop(i);
      } catch (RuntimeException e) {
        // keep closing the others
      }
    }
  }
}
