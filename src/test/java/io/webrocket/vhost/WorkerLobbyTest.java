package io.webrocket.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The worker lobby on its own. */
@Timeout(10)
class WorkerLobbyTest {
  private final Workers workers = new Workers();

  @Test
  void workersAreListedInRegistrationOrderUntilTheyLeave() {
    workers.register("w1", "n1");
    workers.register("w2", "n2");
    assertEquals(List.of("w1", "w2"), workers.ids());
    assertTrue(workers.leave("w1"));
    assertFalse(workers.leave("w1"));
    assertEquals(List.of("w2"), workers.ids());
  }

  @Test
  void workersOfDeadNodesLeave() {
    workers.register("w1", "dead");
    workers.register("w2", "live");
    assertEquals(List.of("w1"), workers.leaveNodesOtherThan(Set.of("live")));
    assertEquals(List.of("w2"), workers.ids());
  }
}
