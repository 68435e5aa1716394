package io.webrocket.bus;

import io.webrocket.protocol.Status;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.shareddata.LocalMap;

/** Request/reply helpers that keep the "action header + status code failure" convention in one place. */
public final class Bus {
  /** Control requests are local or one hop away; a short timeout keeps clients from hanging on a dead peer. */
  public static final long REQUEST_TIMEOUT_MS = 10_000;
  /**
   * In a cluster, one attempt at a control request during a takeover: while no leader serves, and
   * for {@link #TAKEOVER_SETTLE_MS} after this node saw a leader go. With a settled leader an
   * attempt gets the whole {@link #REQUEST_TIMEOUT_MS}: a busy leader is waited for, as a busy
   * node is, rather than its requests failed.
   */
  static final long FAILOVER_ATTEMPT_TIMEOUT_MS = 3_000;
  /**
   * How long after a leader is lost its old registrations may still be picked. Each node drops
   * a dead node's event-bus registrations only when the cluster's subscription map tells it to,
   * which under load came 300 ms after the new leader was ready (NodeFailureTest); a request
   * sent to the dead node is not failed by Vert.x but waits for its timeout.
   */
  static final long TAKEOVER_SETTLE_MS = 10_000;
  private static final long RETRY_DELAY_MS = 100;
  /**
   * Node-local shared map: key {@link #LEADER} holds the id of the cluster leader while it serves;
   * {@link #LEADER_LOST_AT} the time (ms) this node last saw a leader go.
   */
  public static final String CLUSTER_STATE = "webrocket.cluster.local";
  public static final String LEADER = "leader";
  public static final String LEADER_LOST_AT = "leaderLostAt";

  private Bus() {}

  public static DeliveryOptions action(String action) {
    return new DeliveryOptions().addHeader(Addresses.ACTION, action).setSendTimeout(REQUEST_TIMEOUT_MS);
  }

  public static <T> Future<Message<T>> request(Vertx vertx, String address, String action, Object body) {
    return requestWith(vertx, address, body, action(action));
  }

  /** A request to a consumer of this node ({@code localConsumer}): never leaves the node. */
  public static <T> Future<Message<T>> requestLocal(Vertx vertx, String address, String action, Object body) {
    return vertx.eventBus().request(address, body, action(action).setLocalOnly(true));
  }

  /**
   * A request to {@code address}. In a cluster, requests to the presence members (which the
   * leader's registries keep, see {@link Addresses#isLeaderHosted}) ride out a change of leader: during a takeover (no leader serves,
   * or one was lost less than {@link #TAKEOVER_SETTLE_MS} ago) a request that finds no consumer
   * or times out is sent again, until {@link #REQUEST_TIMEOUT_MS} has passed. Once the leader
   * has settled, "no consumer" means what it says (no such vhost).
   */
  public static <T> Future<Message<T>> requestWith(Vertx vertx, String address, Object body, DeliveryOptions options) {
    if (!vertx.isClustered() || !Addresses.isLeaderHosted(address)) {
      return vertx.eventBus().request(address, body, options);
    }
    Promise<Message<T>> result = Promise.promise();
    attempt(vertx, address, body, options, System.currentTimeMillis() + options.getSendTimeout(), result);
    return result.future();
  }

  /** No leader serves, or one was lost moments ago: requests ride the takeover out. */
  private static boolean takeover(Vertx vertx) {
    LocalMap<String, Object> state = vertx.sharedData().getLocalMap(CLUSTER_STATE);
    if (state.get(LEADER) == null) {
      return true;
    }
    Object lostAt = state.get(LEADER_LOST_AT);
    return lostAt instanceof Long at && System.currentTimeMillis() - at < TAKEOVER_SETTLE_MS;
  }

  private static <T> void attempt(Vertx vertx, String address, Object body, DeliveryOptions options, long deadline,
      Promise<Message<T>> result) {
    long left = Math.max(1, deadline - System.currentTimeMillis());
    boolean duringTakeover = takeover(vertx);
    DeliveryOptions attempt = new DeliveryOptions(options)
        .setSendTimeout(duringTakeover ? Math.min(left, FAILOVER_ATTEMPT_TIMEOUT_MS) : left);
    vertx.eventBus().<T>request(address, body, attempt).onComplete(result::tryComplete, err -> {
      boolean unanswered = err instanceof ReplyException re
          && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.TIMEOUT);
      // Sent to the old leader's registration, or before the new one registered: send again.
      if (unanswered && (duringTakeover || takeover(vertx))
          && System.currentTimeMillis() + RETRY_DELAY_MS < deadline) {
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
