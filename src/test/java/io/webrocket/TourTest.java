package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's five-minute tour, end to end over real sockets. */
class TourTest {
  @Test
  void backendBroadcastReachesSubscribedBrowser() {
    try (TestNode n = TestNode.start()) {
      String token = n.createVhost("/demo");
      n.openChannel("/demo", "chat");
      try (WsClient browser = n.ws("/demo"); WbpClient backend = n.wbp()) {
        assertEquals(36, browser.sid.length());
        browser.subscribe("chat");
        List<String> reply = backend.request(WbpClient.identity("req", "/demo", token), "BC", "chat", "message", "{\"text\":\"hi\"}");
        assertEquals(List.of("OK", ""), reply);
        assertEquals(new JsonObject().put("text", "hi").put("channel", "chat"), browser.expect("message"));
      }
    }
  }
}
