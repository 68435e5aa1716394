package io.webrocket.vhost;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The open channels of one vhost with their subscribers (every one, presence member or not) in
 * joining order. Plain state: no event bus, no store; {@link VhostRegistry} decides what to
 * announce and persist from what these methods return.
 */
final class Channels {
  /** A subscriber that left a channel: who, from where, as it was listed. */
  record Left(String channel, String sid, Channel.Member member) {}

  private final Map<String, Channel> open = new TreeMap<>();
  /** Joining order across the vhost, kept across a takeover through the replica. */
  private long joinSeq;

  boolean isOpen(String name) {
    return open.containsKey(name);
  }

  Channel get(String name) {
    return open.get(name);
  }

  int size() {
    return open.size();
  }

  Collection<Channel> all() {
    return open.values();
  }

  List<String> names() {
    return new ArrayList<>(open.keySet());
  }

  /** Opens {@code name}; false if it was open already. */
  boolean open(String name) {
    if (open.containsKey(name)) {
      return false;
    }
    open.put(name, new Channel(name));
    return true;
  }

  /** Closes {@code name}: the channel with the subscribers it had, or null if it was not open. */
  Channel close(String name) {
    return open.remove(name);
  }

  /**
   * Adds {@code sid} to an open channel with the next place in joining order: the member, or
   * null if it is on the channel already (re-subscribing changes nothing).
   */
  Channel.Member join(Channel c, String sid, String uid, io.vertx.core.json.JsonObject data, boolean hidden,
      String node) {
    if (c.subscribers.containsKey(sid)) {
      return null;
    }
    Channel.Member m = new Channel.Member(uid, data, hidden, node, ++joinSeq);
    c.subscribers.put(sid, m);
    return m;
  }

  /** A member as a previous leader left it (replica): placed by its own joining order. */
  void restore(String channel, String sid, Channel.Member m) {
    Channel c = open.get(channel);
    if (c != null) {
      c.subscribers.put(sid, m);
      joinSeq = Math.max(joinSeq, m.seq());
    }
  }

  /** Removes {@code sid} from {@code c}: the member it was, or null if it was not on it. */
  Channel.Member leave(Channel c, String sid) {
    return c.subscribers.remove(sid);
  }

  /** Every subscriber whose node is not in {@code live} leaves (its node is gone). */
  List<Left> leaveNodesOtherThan(Set<?> live) {
    List<Left> gone = new ArrayList<>();
    for (Channel c : open.values()) {
      c.subscribers.forEach((sid, m) -> {
        if (m.node() != null && !live.contains(m.node())) {
          gone.add(new Left(c.name, sid, m));
        }
      });
    }
    gone.forEach(l -> open.get(l.channel()).subscribers.remove(l.sid()));
    return gone;
  }
}
