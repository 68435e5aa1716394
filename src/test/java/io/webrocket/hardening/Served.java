package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** What every hardening test ends with: a fresh browser and a fresh backend are still served. */
final class Served {
  static final List<String> OK = List.of("OK", "");
  private static final AtomicInteger VHOSTS = new AtomicInteger();

  private Served() {}

  /**
   * On a new vhost: a backend opens a channel (WBP), a browser connects and subscribes (WWFP),
   * the backend broadcasts and the browser gets it, the backend issues a single access token
   * and the browser authenticates with it.
   */
  static void freshClientsAreServed(TestNode node) {
    String vhost = "/fresh" + VHOSTS.incrementAndGet();
    String token = node.createVhost(vhost);
    String id = WbpClient.identity("req", vhost, token);
    try (WbpClient backend = node.wbp()) {
      assertEquals(OK, backend.request(id, "KA"));
      assertEquals(OK, backend.request(null, "OC", "news"));
      try (WsClient browser = node.ws(vhost)) {
        browser.subscribe("news");
        assertEquals(OK, backend.request(null, "BC", "news", "hello", "{\"n\":1}"));
        assertEquals(new JsonObject().put("hello", new JsonObject().put("n", 1).put("channel", "news")), browser.next());
        List<String> at = backend.request(null, "AT", "alice", ".*");
        assertEquals("AT", at.get(0));
        browser.auth(at.get(1));
      }
    }
  }

  /** Used heap after a full collection, in bytes (several rounds: one may not settle it). */
  static long usedHeapAfterGc() {
    var mem = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      used = Math.min(used, mem.getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
