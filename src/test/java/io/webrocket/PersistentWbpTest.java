package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * WBP persistent mode: pipelined requests get their replies in order, errors do not close the
 * connection, a failed identity does (after the replies before it). Persistent replies are
 * flushed once per event-loop pass, so a burst is the case to cover.
 */
class PersistentWbpTest {
  @Test
  void pipelinedRepliesComeBackInOrder() {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/demo");
      n.openChannel("/demo", "chat");
      String id = WbpClient.identity("req", "/demo", token);
      try (WsClient browser = n.ws("/demo"); WbpClient backend = n.wbp()) {
        browser.subscribe("chat");
        StringBuilder burst = new StringBuilder(WbpClient.message(id, "KA"));
        for (int i = 0; i < 200; i++) {
          burst.append(i % 50 == 7
              ? WbpClient.message(null, "BC", "missing", "m", "{}")
              : WbpClient.message(null, "BC", "chat", "m", "{\"i\":" + i + "}"));
        }
        backend.write(burst.toString());
        assertEquals(List.of("OK", ""), backend.read()); // KA
        for (int i = 0; i < 200; i++) {
          assertEquals(i % 50 == 7 ? List.of("ER", "454") : List.of("OK", ""), backend.read(), "reply " + i);
        }
        // still open: one more request on the same connection
        assertEquals(List.of("OK", ""), backend.request(null, "BC", "chat", "m", "{\"last\":true}"));
      }
    }
  }

  @Test
  void failedIdentityClosesAfterEarlierReplies() {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/demo");
      n.openChannel("/demo", "chat");
      String id = WbpClient.identity("req", "/demo", token);
      String bad = WbpClient.identity("req", "/demo", "0".repeat(40));
      try (WbpClient backend = n.wbp()) {
        backend.write(WbpClient.message(id, "KA")
            + WbpClient.message(null, "BC", "chat", "m", "{}")
            + WbpClient.message(bad, "BC", "chat", "m", "{}"));
        assertEquals(List.of("OK", ""), backend.read());
        assertEquals(List.of("OK", ""), backend.read());
        assertEquals(List.of("ER", "402"), backend.read());
        assertTrue(backend.closedByPeer());
      }
    }
  }

  /** The idle timeout counts silence, not waiting: a client owed its reply is kept however long the registry takes. */
  @Test
  void aClientWaitingForItsReplyIsNotIdle() throws Exception {
    try (TestNode n = TestNode.start(new io.vertx.core.json.JsonObject()
        .put("backend", new io.vertx.core.json.JsonObject().put("idleTimeoutMs", 1000)))) {
      String token = n.createVhost("/slow");
      String id = WbpClient.identity("req", "/slow", token);
      // Every request to the vhost's registry is held for 2.5 s: longer than the idle timeout.
      io.vertx.core.Vertx vertx = n.node.vertx();
      vertx.eventBus().addOutboundInterceptor(ctx -> {
        if (io.webrocket.bus.Addresses.vhost("/slow").equals(ctx.message().address())) {
          vertx.setTimer(2500, t -> ctx.next());
        } else {
          ctx.next();
        }
      });
      try (WbpClient persistent = n.wbp(); WbpClient oneShot = n.wbp()) {
        long t0 = System.nanoTime();
        persistent.write(WbpClient.message(id, "KA"));
        oneShot.write(WbpClient.message(id, "OC", "news"));
        assertEquals(List.of("OK", ""), persistent.read());
        assertEquals(List.of("OK", ""), oneShot.read());
        assertTrue(System.nanoTime() - t0 > 2_000_000_000L, "the registry was held");
        // Once owed nothing, silence does end it.
        long t1 = System.nanoTime();
        persistent.readToEnd();
        long ms = (System.nanoTime() - t1) / 1_000_000;
        assertTrue(ms > 500 && ms < 3000, "closed " + ms + " ms after the reply");
      }
    }
  }
}
