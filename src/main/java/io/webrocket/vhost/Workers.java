package io.webrocket.vhost;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The worker lobby of one vhost as the admin API lists it: worker id to the node its connection
 * is on, in registration order. Plain state. (Triggers do not use it: they go over the event bus
 * to the workers' own consumers.)
 */
final class Workers {
  private final Map<String, String> nodeOf = new LinkedHashMap<>();

  void register(String worker, String node) {
    nodeOf.put(worker, node);
  }

  /** True if the worker was listed. */
  boolean leave(String worker) {
    return nodeOf.remove(worker) != null;
  }

  /** Removes the workers whose node is not in {@code live} and returns their ids. */
  List<String> leaveNodesOtherThan(Set<?> live) {
    List<String> gone = new ArrayList<>();
    nodeOf.forEach((id, node) -> {
      if (node != null && !live.contains(node)) {
        gone.add(id);
      }
    });
    gone.forEach(nodeOf::remove);
    return gone;
  }

  List<String> ids() {
    return new ArrayList<>(nodeOf.keySet());
  }

  int size() {
    return nodeOf.size();
  }
}
