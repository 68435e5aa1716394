package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each node pays for its own sockets (issue 11, items 1 and 6): once a node knows a channel and
 * a vhost token, subscriptions to open and private channels and backend broadcasts on it send
 * nothing to the vhost's registry; and what a node learnt is taken back on every node before a
 * change that removes it is confirmed; and (item 7) channels, tokens and vhosts are changed by
 * the node that received the request. Node 0 is the oldest member (the leader); the sockets
 * and requests are on the others.
 *
 * <p>Run by {@link InProcessClusterTest}, on the cluster it shares.
 */
@Timeout(120)
abstract class LocalPathCases extends SharedClusterCases {

  /** Counts what node {@code i} sends to {@code vhost}'s registry from now on (handshakes aside). */
  private static AtomicInteger registryRequests(int i, String vhost) {
    AtomicInteger sent = new AtomicInteger();
    String address = Addresses.vhost(vhost);
    n(i).node.vertx().eventBus().addOutboundInterceptor(ctx -> {
      // Not counted: a handshake's vhost check, which each endpoint instance makes once (which
      // instance a socket lands on is the kernel's choice).
      if (address.equals(ctx.message().address()) && !"exists".equals(ctx.message().headers().get(Addresses.ACTION))) {
        sent.incrementAndGet();
      }
      ctx.next();
    });
    return sent;
  }

  /**
   * Counts the requests node {@code i}'s directory and registries serve from now on, apart from
   * its share of the rounds every node takes part in (a channel dropped, a vhost re-read with
   * its new token).
   */
  private static AtomicInteger servedRequests(int i) {
    AtomicInteger served = new AtomicInteger();
    n(i).node.vertx().eventBus().addInboundInterceptor(ctx -> {
      String address = ctx.message().address();
      String action = ctx.message().headers().get(Addresses.ACTION);
      if ((address.equals(Addresses.vhosts()) || address.startsWith(Addresses.vhost("")))
          && !java.util.Set.of("dropChannel", "sync", "setToken").contains(action)) {
        served.incrementAndGet();
      }
      ctx.next();
    });
    return served;
  }

  private static List<String> wbp(int node, String vhost, String token, String... frames) {
    try (WbpClient c = n(node).wbp()) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private static final List<String> OK = List.of("OK", "");

  @Test
  void subscriptionsToAKnownChannelStayOnTheirNode() {
    String vhost = "/lp" + SEQ.incrementAndGet();
    String token = n(1).createVhost(vhost);
    assertEquals(OK, wbp(1, vhost, token, "OC", "news"));
    // Warm-up: each endpoint instance learns the vhost, the node learns the channel.
    for (int k = 0; k < 4; k++) {
      track(n(1).ws(vhost)).subscribe("news");
    }
    AtomicInteger sent = registryRequests(1, vhost);
    for (int k = 0; k < 20; k++) {
      WsClient c = track(n(1).ws(vhost));
      c.subscribe("news");
      c.send("unsubscribe", new JsonObject().put("channel", "news"));
      c.expect(":unsubscribed");
      c.subscribe("news");
    }
    assertEquals(0, sent.get(), "requests to the registry");
    assertEquals(24, n(2).admin().json(vhost + "/channels/news")
        .getJsonObject("channel").getJsonObject("subscribers").getInteger("size"), "counted on the nodes");
  }

  @Test
  void backendBroadcastsOnAKnownChannelAreCheckedOnTheirNode() {
    String vhost = "/lp" + SEQ.incrementAndGet();
    String token = n(2).createVhost(vhost);
    assertEquals(OK, wbp(2, vhost, token, "OC", "prices"));
    WsClient sub = track(n(1).ws(vhost));
    sub.subscribe("prices");
    try (WbpClient ka = n(2).wbp()) {
      String id = WbpClient.identity("req", vhost, token);
      assertEquals(OK, ka.request(id, "KA"));
      assertEquals(OK, ka.request(null, "BC", "prices", "tick", "{\"k\":0}"));
      sub.expect("tick");
      AtomicInteger sent = registryRequests(2, vhost);
      for (int k = 1; k <= 20; k++) {
        assertEquals(OK, ka.request(null, "BC", "prices", "tick", "{\"k\":" + k + "}"));
      }
      for (int k = 1; k <= 20; k++) {
        assertEquals(k, sub.expect("tick").getInteger("k"), "in the order sent");
      }
      assertEquals(0, sent.get(), "requests to the registry");
    }
  }

  @Test
  void controlRequestsAreAnsweredOnTheNodeThatReceivedThemNotOnTheLeader() {
    AtomicInteger leader = servedRequests(0);
    String vhost = "/lp" + SEQ.incrementAndGet();
    String token = n(1).createVhost(vhost);
    assertEquals(token, n(2).admin().token(vhost));
    assertEquals(OK, wbp(1, vhost, token, "OC", "news"));
    assertEquals(OK, wbp(2, vhost, token, "OC", "news"), "open already: a backend's open succeeds");
    String single = wbp(2, vhost, token, "AT", "joe", ".*").get(1);
    track(n(1).ws(vhost)).auth(single);
    assertEquals(1, n(2).admin().json(vhost + "/channels").getJsonArray("channels").size());
    assertEquals(OK, wbp(2, vhost, token, "CC", "news"));
    assertEquals(302, n(1).admin().call("PUT", vhost + "/token").statusCode());
    assertEquals(202, n(2).admin().call("DELETE", vhost).statusCode());
    assertEquals(0, leader.get(), "requests the leader's directory and registries served");
  }

  @Test
  void whatANodeLearntIsTakenBackEverywhereBeforeTheOk() {
    String vhost = "/lp" + SEQ.incrementAndGet();
    String token = n(1).createVhost(vhost);
    assertEquals(OK, wbp(1, vhost, token, "OC", "a"));
    assertEquals(OK, wbp(1, vhost, token, "OC", "b"));
    // Node 2 learns the token and both channels.
    assertEquals(OK, wbp(2, vhost, token, "BC", "a", "e", "{}"));
    assertEquals(OK, wbp(2, vhost, token, "BC", "b", "e", "{}"));
    // Closed through node 1: node 2 refuses it at once.
    assertEquals(OK, wbp(1, vhost, token, "CC", "a"));
    assertEquals(List.of("ER", "454"), wbp(2, vhost, token, "BC", "a", "e", "{}"));
    WsClient c = track(n(2).ws(vhost));
    c.send("subscribe", new JsonObject().put("channel", "a"));
    c.expectError(454);
    // Re-tokened through node 0: node 2 refuses the old token at once.
    n(0).admin().call("PUT", vhost + "/token");
    assertEquals(List.of("ER", "402"), wbp(2, vhost, token, "BC", "b", "e", "{}"));
    String renewed = n(0).admin().token(vhost);
    assertEquals(OK, wbp(2, vhost, renewed, "BC", "b", "e", "{}"));
  }
}
