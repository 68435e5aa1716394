package io.webrocket.bus;

import io.vertx.core.Future;
import io.vertx.core.Promise;
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
   * In a cluster, one attempt at a control request while no leader serves (a takeover is under
   * way). With a serving leader an attempt gets the whole {@link #REQUEST_TIMEOUT_MS}: a busy
   * leader is waited for, as a busy node is, rather than its requests failed.
   */
  static final long FAILOVER_ATTEMPT_TIMEOUT_MS = 3_000;
  private static final long RETRY_DELAY_MS = 100;
  /** Node-local shared map: key {@code leader} holds the id of the cluster leader while it serves. */
  public static final String CLUSTER_STATE = "webrocket.cluster.local";

  private Bus() {}

  public static DeliveryOptions action(String action) {
    return new DeliveryOptions().addHeader(Addresses.ACTION, action).setSendTimeout(REQUEST_TIMEOUT_MS);
  }

  public static <T> Future<Message<T>> request(Vertx vertx, String address, String action, Object body) {
    return requestWith(vertx, address, body, action(action));
  }

  /**
   * A request to {@code address}. In a cluster, requests to the vhost directory and registries
   * (which run on the leader) ride out a change of leader: while no leader serves, a request that
   * finds no consumer or times out is sent again, until {@link #REQUEST_TIMEOUT_MS} has passed.
   * Once a leader serves, "no consumer" means what it says (no such vhost).
   */
  public static <T> Future<Message<T>> requestWith(Vertx vertx, String address, Object body, DeliveryOptions options) {
    if (!vertx.isClustered() || !Addresses.isLeaderHosted(address)) {
      return vertx.eventBus().request(address, body, options);
    }
    Promise<Message<T>> result = Promise.promise();
    attempt(vertx, address, body, options, System.currentTimeMillis() + options.getSendTimeout(), result);
    return result.future();
  }

  private static boolean leaderServes(Vertx vertx) {
    return vertx.sharedData().getLocalMap(CLUSTER_STATE).get("leader") != null;
  }

  private static <T> void attempt(Vertx vertx, String address, Object body, DeliveryOptions options, long deadline,
      Promise<Message<T>> result) {
    long left = Math.max(1, deadline - System.currentTimeMillis());
    DeliveryOptions attempt = new DeliveryOptions(options)
        .setSendTimeout(leaderServes(vertx) ? left : Math.min(left, FAILOVER_ATTEMPT_TIMEOUT_MS));
    vertx.eventBus().<T>request(address, body, attempt).onComplete(result::tryComplete, err -> {
      boolean retryable = err instanceof ReplyException re
          && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.TIMEOUT);
      if (retryable && !leaderServes(vertx) && System.currentTimeMillis() + RETRY_DELAY_MS < deadline) {
        vertx.setTimer(RETRY_DELAY_MS, t -> attempt(vertx, address, body, options, deadline, result));
      } else {
        result.tryFail(err);
      }
    });
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
