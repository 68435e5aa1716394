package io.webrocket.bus;

import io.webrocket.protocol.Status;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/** Request/reply helpers that keep the "action header + status code failure" convention in one place. */
public final class Bus {
  /** Control requests are local or one hop away; a short timeout keeps clients from hanging on a dead peer. */
  public static final long REQUEST_TIMEOUT_MS = 10_000;
  /**
   * Node-local shared map: key {@link #LEADER} holds the id of the cluster leader while it serves
   * (written by {@code cluster/Leadership}, which does the cluster's one-member jobs).
   */
  public static final String CLUSTER_STATE = "webrocket.cluster.local";
  public static final String LEADER = "leader";

  private Bus() {}

  public static DeliveryOptions action(String action) {
    return new DeliveryOptions().addHeader(Addresses.ACTION, action).setSendTimeout(REQUEST_TIMEOUT_MS);
  }

  public static <T> Future<Message<T>> request(Vertx vertx, String address, String action, Object body) {
    return vertx.eventBus().request(address, body, action(action));
  }

  /** A request to a consumer of this node ({@code localConsumer}): never leaves the node. */
  public static <T> Future<Message<T>> requestLocal(Vertx vertx, String address, String action, Object body) {
    return vertx.eventBus().request(address, body, action(action).setLocalOnly(true));
  }

  /** The protocol status a failed request stands for; {@code ifNobody} when no consumer exists. */
  public static Status statusOf(Throwable failure, Status ifNobody) {
    if (failure instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.NO_HANDLERS) {
        return ifNobody;
      }
      if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        return Status.of(re.failureCode());
      }
    }
    return Status.INTERNAL_ERROR;
  }

  public static void fail(Message<?> msg, Status status) {
    msg.fail(status.code, status.text);
  }

  public static String actionOf(Message<?> msg) {
    String a = msg.headers().get(Addresses.ACTION);
    return a == null ? "" : a;
  }
}
