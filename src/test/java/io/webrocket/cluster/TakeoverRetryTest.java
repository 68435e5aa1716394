package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.test.TestCluster;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Presence requests (the leader's) right after a leader is lost. A node may still pick the dead leader's
 * registration for a while; Vert.x does not fail such a request, it waits for its timeout. Here
 * a registration on a live node that leaves its first request unanswered stands in for the dead
 * one: during a takeover the request is sent again and answered, once the leader has settled an
 * unanswered request fails at its timeout as before.
 */
class TakeoverRetryTest {
  private static final String ADDRESS = Addresses.presence("/takeover-retry");

  @Test
  void aRequestLeftUnansweredDuringATakeoverIsSentAgainButNotOnceTheLeaderHasSettled() throws Exception {
    try (TestCluster cluster = TestCluster.start(2, new JsonObject())) {
      Vertx leader = cluster.node(0).node.vertx();
      Vertx other = cluster.node(1).node.vertx();
      AtomicInteger seen = new AtomicInteger();
      MessageConsumer<Object> stale = leader.eventBus().consumer(ADDRESS, m -> {
        if (seen.incrementAndGet() % 2 == 0) {
          m.reply("answered");
        }
      });
      stale.completion().await(10, TimeUnit.SECONDS);
      TestCluster.sleep(500); // the registration reaches the other node's view of the subscriptions

      other.sharedData().getLocalMap(Bus.CLUSTER_STATE).put(Bus.LEADER_LOST_AT, System.currentTimeMillis());
      long t0 = System.currentTimeMillis();
      Object reply = Bus.request(other, ADDRESS, "info", new JsonObject()).await(15, TimeUnit.SECONDS).body();
      assertEquals("answered", reply);
      assertEquals(2, seen.get());
      long took = System.currentTimeMillis() - t0;
      assertTrue(took >= 2_500 && took < 9_000, "one short attempt, then the answer: " + took + " ms");

      other.sharedData().getLocalMap(Bus.CLUSTER_STATE).remove(Bus.LEADER_LOST_AT);
      DeliveryOptions shortWait = Bus.action("info").setSendTimeout(1_000);
      Throwable failure = null;
      try {
        Bus.requestWith(other, ADDRESS, new JsonObject(), shortWait).await(15, TimeUnit.SECONDS);
      } catch (ReplyException e) {
        failure = e;
      }
      assertTrue(failure instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT, "" + failure);
      assertEquals(3, seen.get(), "a settled leader's silence is not retried");
    }
  }
}
