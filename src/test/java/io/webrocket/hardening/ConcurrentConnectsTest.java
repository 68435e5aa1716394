package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.RawWs;
import io.webrocket.test.TestNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code limits.connectionsPerNode} and {@code limits.connectionsPerVhost} hold when many
 * browsers connect at once to several endpoint instances (each on its own event loop, counting
 * in one node-wide map): never one connection more than the limit. Real sockets, bounded: 90
 * connects from 6 threads.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConcurrentConnectsTest {
  static final int THREADS = 6;
  static final int PER_THREAD = 15;

  TestNode node;
  final List<RawWs> open = Collections.synchronizedList(new ArrayList<>());

  @AfterEach
  void stop() {
    open.forEach(RawWs::close);
    if (node != null) {
      node.close();
    }
  }

  /** Connects {@code THREADS * PER_THREAD} times at once, spread over {@code vhosts}; the number of 101s. */
  int connectAtOnce(List<String> vhosts) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    CyclicBarrier start = new CyclicBarrier(THREADS);
    try {
      List<Future<Integer>> upgraded = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        upgraded.add(pool.submit(() -> {
          start.await();
          int n = 0;
          for (int i = 0; i < PER_THREAD; i++) {
            RawWs ws = RawWs.connect(node.wsPort, vhosts.get((thread + i) % vhosts.size()), null, 0);
            if (ws.status == 101) {
              open.add(ws); // holds its place until the test ends
              n++;
            } else {
              assertEquals(503, ws.status, "over the limit: refused before the upgrade");
              ws.close();
            }
          }
          return n;
        }));
      }
      int total = 0;
      for (Future<Integer> f : upgraded) {
        total += f.get(60, TimeUnit.SECONDS);
      }
      return total;
    } finally {
      pool.shutdownNow();
    }
  }

  TestNode start(JsonObject limits) {
    // Four endpoint instances (one per event loop of the default pool), all counting connections.
    return TestNode.start(new JsonObject().put("limits", limits)
        .put("websocket", new JsonObject().put("instances", 4)));
  }

  @Test
  void concurrentConnectsNeverOvershootTheNodeLimit() throws Exception {
    node = start(new JsonObject().put("connectionsPerNode", 30).put("handshakesInFlight", 1_000));
    node.createVhost("/a");
    node.createVhost("/b");
    assertEquals(30, connectAtOnce(List.of("/a", "/b")));
  }

  @Test
  void concurrentConnectsNeverOvershootTheVhostLimit() throws Exception {
    node = start(new JsonObject().put("connectionsPerVhost", 25).put("handshakesInFlight", 1_000));
    node.createVhost("/a");
    assertEquals(25, connectAtOnce(List.of("/a")));
  }
}
