package io.webrocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.PostgresServer;
import io.webrocket.test.TcpBalancer;
import io.webrocket.test.TestCluster;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The docker-compose topology with local processes: a load balancer in front of three
 * clustered broker JVMs that share one PostgreSQL database (a real server). Clients only know
 * the balancer's three ports, as with {@code docker compose up --scale webrocket=3}; a full
 * restart of every node keeps the durable state.
 */
class ComposeTopologyTest {
  private static PostgresServer pg;

  @BeforeAll
  static void startDatabase() {
    pg = PostgresServer.startOrSkip();
  }

  @AfterAll
  static void stopDatabase() {
    if (pg != null) {
      pg.close();
    }
  }

  private static List<String> wbp(TcpBalancer backend, String vhost, String token, String... frames) {
    try (WbpClient c = WbpClient.connect(backend.port)) {
      return c.request(WbpClient.identity("req", vhost, token), frames);
    }
  }

  private static List<Integer> ports(ClusterJvms nodes, int which) {
    List<Integer> p = new ArrayList<>();
    for (int i = 0; i < nodes.size; i++) {
      p.add(nodes.ports[i][which]);
    }
    return p;
  }

  @Test
  void threeNodesBehindOneBalancerAreOneBrokerAndAFullRestartKeepsEverything() {
    Map<String, String> env = new HashMap<>(pg.nodeEnv(pg.createDatabase()));
    env.put("WEBROCKET_CLUSTER_MINMEMBERS", "3");
    try (ClusterJvms nodes = new ClusterJvms(3, env);
        TcpBalancer ws = new TcpBalancer(ports(nodes, 0));
        TcpBalancer backend = new TcpBalancer(ports(nodes, 1));
        TcpBalancer adminLb = new TcpBalancer(ports(nodes, 2))) {
      nodes.startAll();
      nodes.awaitSettled(0, 3);
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
        c.expectSilence(100);
      }
      for (int i = 0; i < 3; i++) {
        JsonObject channel = admin.json("/app/channels/news").getJsonObject("channel");
        assertEquals(6, channel.getJsonObject("subscribers").getInteger("size"), "any node counts every subscriber");
      }
      String unused = wbp(backend, "/app", token, "AT", "joe", ".*").get(1);
      browsers.forEach(WsClient::close);

      // Every node stops (SIGTERM), then all start again: the database has kept everything.
      for (int i = 2; i >= 0; i--) {
        nodes.stop(i);
      }
      nodes.startAll();
      nodes.awaitSettled(1, 3);
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
