package io.webrocket.backend;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A persistent connection's broadcasts leave in the order sent, however their checks complete (no sockets). */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class OrderedBroadcastsTest {

  @Test
  void broadcastsArePublishedInOrderAndRefusedOnesAreSkipped() {
    OrderedBroadcasts ordered = new OrderedBroadcasts();
    List<Integer> published = new ArrayList<>();
    List<Promise<Void>> checks = new ArrayList<>();
    List<Future<Void>> results = new ArrayList<>();
    int n = 50_000; // completing all at once must not nest one call per broadcast on the stack
    for (int i = 0; i < n; i++) {
      Promise<Void> check = Promise.promise();
      checks.add(check);
      int k = i;
      results.add(ordered.add(check.future(), () -> published.add(k)));
    }
    for (int i = n - 1; i >= 1; i--) {
      if (i % 1000 == 7) {
        checks.get(i).fail("refused");
      } else {
        checks.get(i).complete();
      }
    }
    assertTrue(published.isEmpty(), "nothing leaves before the first one is checked");
    checks.get(0).complete();
    assertEquals(n - n / 1000, published.size());
    for (int i = 1; i < published.size(); i++) {
      assertTrue(published.get(i - 1) < published.get(i), "in order");
    }
    assertTrue(results.get(7).failed() && results.get(8).succeeded());
  }

  @Test
  void aBroadcastCheckedAtOnceLeavesAtOnceWhenNothingIsAhead() {
    OrderedBroadcasts ordered = new OrderedBroadcasts();
    List<String> published = new ArrayList<>();
    assertTrue(ordered.add(Future.succeededFuture(), () -> published.add("a")).succeeded());
    assertEquals(List.of("a"), published);
  }
}
