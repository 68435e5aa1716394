package io.webrocket.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.webrocket.bus.Addresses;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Replies that must not overtake the change they confirm, and registrations that must not
 * outlive their connection (issue 12, item 10), over real sockets with a slowed store or registry.
 */
@Timeout(60)
class RegistryOrderingTest {

  /**
   * Holds every event-bus message to {@code address} with action {@code action} for {@code ms};
   * counts the messages held, so that a test knows one reached that point.
   */
  private static AtomicInteger delay(Vertx vertx, String address, String action, long ms) {
    AtomicInteger held = new AtomicInteger();
    vertx.eventBus().addOutboundInterceptor(ctx -> {
      if (address.equals(ctx.message().address()) && action.equals(ctx.message().headers().get(Addresses.ACTION))) {
        held.incrementAndGet();
        vertx.setTimer(ms, t -> ctx.next());
      } else {
        ctx.next();
      }
    });
    return held;
  }

  @Test
  void aSecondOpenOfAChannelAnswersOnlyOnceTheFirstIsDurable() throws Exception {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/oc");
      String id = WbpClient.identity("req", "/oc", token);
      AtomicInteger writes = delay(n.node.vertx(), Addresses.store(), "putChannel", 1_500);
      try (WbpClient first = n.wbp(); WbpClient second = n.wbp()) {
        first.write(WbpClient.message(id, "OC", "news"));
        // The first OC is in the registry, its write held for 1.5 s from now.
        Await.until(5_000, "the first OC's write reached the store", () -> writes.get() == 1);
        long sent = System.nanoTime();
        second.write(WbpClient.message(id, "OC", "news"));
        assertEquals(List.of("OK", ""), second.read());
        long waitedMs = (System.nanoTime() - sent) / 1_000_000;
        // Held until the first one's write completes: nearly 1.5 s from here, 0.9 s allowing for slack.
        assertTrue(waitedMs >= 900, "the second OK came " + waitedMs + " ms after its OC, before the first was durable");
        assertEquals(List.of("OK", ""), first.read());
      }
    }
  }

  @Test
  void aWorkerThatLeavesBeforeItsRegistrationIsAnsweredIsNotListed() throws Exception {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/rd");
      AtomicInteger identifies = delay(n.node.vertx(), Addresses.vhost("/rd"), RegistryActions.IDENTIFY, 1_000);
      try (WbpClient w = n.wbp()) {
        w.write(WbpClient.message("dlr:/rd:" + token + ":" + UUID.randomUUID(), "RD"));
        Await.until(5_000, "the RD on its way to the registry", () -> identifies.get() == 1);
      } // closed while its RD waits for the registry
      // The held RD reaches the registry after 1 s: for 2.5 s (a stated bound), the closed worker is never listed.
      Await.never(2_500, "the closed worker listed",
          () -> !n.admin().json("/rd/workers").getJsonArray("workers").isEmpty());
    }
  }
}
