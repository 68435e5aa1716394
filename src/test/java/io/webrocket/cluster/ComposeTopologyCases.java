package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.PostgresServer;
import io.webrocket.test.TcpBalancer;
import io.webrocket.test.TestCluster;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The docker-compose topology: a load balancer in front of three clustered broker nodes that
 * share one PostgreSQL database (a real server). Clients only know the balancer's three ports,
 * as with {@code docker compose up --scale webrocket=3}; a full restart of every node keeps the
 * durable state. The nodes run in this JVM (real Vert.x and Hazelcast instances on their own
 * ports, clustered over loopback): nothing here needs a process killed, and a node in this
 * JVM starts in a fraction of a fresh JVM's time. Separate JVMs are {@code NodeFailureTest}'s.
 *
 * <p>Run by {@link InProcessClusterTest}, with a cluster and a database of its own.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
abstract class ComposeTopologyCases {
  private static List<String> wbp(TcpBalancer backend, String vhost, String token, String... frames) {
    try (WbpClient c = WbpClient.connect(backend.port)) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private static List<Integer> ports(TestCluster nodes, java.util.function.ToIntFunction<TestNode> which) {
    List<Integer> p = new ArrayList<>();
    for (TestNode n : nodes.nodes) {
      p.add(which.applyAsInt(n));
    }
    return p;
  }

  @Test
  void threeNodesBehindOneBalancerAreOneBrokerAndAFullRestartKeepsEverything() {
    try (PostgresServer pg = PostgresServer.startOrSkip();
        TestCluster nodes = TestCluster.start(3, pg.nodeConfig(pg.createDatabase())
            .put("cluster", new JsonObject().put("minMembers", 3)));
        TcpBalancer ws = new TcpBalancer(ports(nodes, n -> n.wsPort));
        TcpBalancer backend = new TcpBalancer(ports(nodes, n -> n.backendPort));
        TcpBalancer adminLb = new TcpBalancer(ports(nodes, n -> n.adminPort))) {
      TestCluster.awaitCluster(nodes.node(0).admin(), 3, true, System.currentTimeMillis() + 30_000);
      AdminClient admin = new AdminClient(adminLb.port, TestCluster.COOKIE);
      for (int i = 0; i < 3; i++) {
        assertEquals(200, admin.call("GET", "/ready").statusCode(), "every node is ready once all three are in");
      }

      String token = admin.createVhost("/app");
      assertEquals(List.of("OK", ""), wbp(backend, "/app", token, "OC", "news"));
      List<WsClient> browsers = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        WsClient c = WsClient.connect(ws.port, "/app");
        c.subscribe("news");
        browsers.add(c);
      }
      for (int i = 0; i < 3; i++) {
        assertTrue(ws.accepted.get(i) >= 2, "the balancer spread the browsers over every node: " + ws.accepted);
      }
      assertEquals(List.of("OK", ""), wbp(backend, "/app", token, "BC", "news", "hello", "{\"n\":1}"));
      for (WsClient c : browsers) {
        assertEquals(1, c.expect("hello").getInteger("n"));
      }
      // Once, not once per node: a second copy would have come within these 100 ms.
      browsers.get(0).expectSilence(100);
      browsers.forEach(c -> c.expectSilence(0));
      for (int i = 0; i < 3; i++) {
        JsonObject channel = admin.json("/app/channels/news").getJsonObject("channel");
        assertEquals(6, channel.getJsonObject("subscribers").getInteger("size"), "any node counts every subscriber");
      }
      String unused = wbp(backend, "/app", token, "AT", "joe", ".*").get(1);
      browsers.forEach(WsClient::close);

      // Every node stops gracefully (what SIGTERM does), then all start again: the database has kept everything.
      for (int i = 2; i >= 0; i--) {
        nodes.stop(i);
      }
      for (int i = 0; i < 3; i++) {
        nodes.restart(i);
      }
      TestCluster.awaitCluster(nodes.node(1).admin(), 3, true, System.currentTimeMillis() + 30_000);
      assertEquals(token, admin.token("/app"));
      try (WsClient again = WsClient.connect(ws.port, "/app")) {
        again.auth(unused);
        again.subscribe("news");
        assertEquals(List.of("OK", ""), wbp(backend, "/app", token, "BC", "news", "back", "{}"));
        again.expect("back");
      }
      try (WsClient replay = WsClient.connect(ws.port, "/app")) {
        replay.send("auth", new JsonObject().put("token", unused));
        replay.expectError(402);
      }
    }
  }
}
