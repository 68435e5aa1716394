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
}
