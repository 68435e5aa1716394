package io.webrocket.bus;

import io.vertx.core.Vertx;
import io.vertx.core.spi.cluster.ClusterManager;

/**
 * This node's id on the event bus, the one name every verticle may use for "this node" (in
 * {@link Addresses#node}, presence member records, the admin API). It lives here rather than in
 * {@code cluster} so that the edges can know their node without importing the cluster package.
 */
public final class NodeId {
  /** The id of a node that is not clustered. */
  public static final String LOCAL = "local";

  private NodeId() {}

  /** This node's id in the cluster ({@link #LOCAL} when not clustered). */
  public static String of(Vertx vertx) {
    ClusterManager cm = io.webrocket.vertx.VertxInternals.clusterManager(vertx);
    return cm == null ? LOCAL : cm.getNodeId();
  }
}
