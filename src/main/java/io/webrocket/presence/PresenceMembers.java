package io.webrocket.presence;

import io.vertx.core.json.JsonObject;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The presence members of one channel, in joining order, with the channel's event sequence: the
 * value one owner keeps per channel ({@link PresenceGrid}). Every change is a method here, so
 * that the single-node grid and the cluster's entry processors (which run these methods on the
 * key's owner, and again on its backup) apply exactly the same rule. Deterministic: the same
 * state and call give the same result, which a backup replaying the change relies on.
 *
 * <p>The sequence numbers the visible changes: each visible join or leave takes the next number,
 * and its announcement carries it. A member's list is the state as of one number, so a node can
 * tell which announcements a member already sees in its list (see {@link PresenceStreams}).
 * Hidden members change the list nobody sees, so they take no number.
 *
 * <p>Serializable (Java serialization, which Hazelcast 5 uses for a {@link Serializable} class
 * with no other serializer configured): it crosses the cluster as a value and in results.
 */
public final class PresenceMembers implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * A member: its connection ({@code sid}) on {@code node}, the user id, the data it joined
   * with as encoded JSON (bounded by {@code limits.presenceDataBytes} at the edge), and its
   * {@code entry} in a member list, {@code {"uid": U, ...data}} as encoded JSON with uid winning
   * over a key of the same name. The entry is encoded once, where the member is made (its
   * node), so that a list of a thousand members is a join of strings, not a thousand JSON
   * objects built, copied and encoded again at every join.
   */
  public record Member(String sid, String uid, String data, boolean hidden, String node, String entry)
      implements Serializable {
    private static final long serialVersionUID = 2L;

    public Member(String sid, String uid, String data, boolean hidden, String node) {
      this(sid, uid, data, hidden, node, entryOf(uid, data));
    }

    private static String entryOf(String uid, String data) {
      JsonObject j = new JsonObject().put("uid", uid);
      new JsonObject(data).forEach(e -> {
        if (!"uid".equals(e.getKey())) {
          j.put(e.getKey(), e.getValue());
        }
      });
      return j.encode();
    }

    /** The list entry as an object. */
    public JsonObject listed() {
      return new JsonObject(entry);
    }

    /**
     * The member as its join or leave announcement shows it: {@code {"uid": U, "channel": C,
     * ...data}} with {@code extra} merged over its data (leave data); uid and channel win.
     */
    public JsonObject announced(String channel, JsonObject extra) {
      JsonObject merged = new JsonObject(data);
      if (extra != null) {
        merged.mergeIn(extra);
      }
      JsonObject j = new JsonObject().put("uid", uid).put("channel", channel);
      merged.forEach(e -> {
        if (!"uid".equals(e.getKey()) && !"channel".equals(e.getKey())) {
          j.put(e.getKey(), e.getValue());
        }
      });
      return j;
    }
  }

  /**
   * The outcome of a join. {@code listed}: the visible members other than the joiner, as of
   * {@code seq}, as an encoded JSON array of their entries (in a cluster this result crosses
   * the network at every join: one string, not a list of objects). {@code added}: false when
   * the connection was a member already (nothing changed). When a visible member was added,
   * {@code seq} is the number of its own announcement.
   */
  public record Joined(String listed, long seq, boolean added) implements Serializable {
    private static final long serialVersionUID = 2L;

    /** Whether this join is announced to the channel (a visible member added). */
    public boolean announced(Member m) {
      return added && !m.hidden();
    }
  }

  /** A member that left, and the number of its announcement (the current one if hidden). */
  public record Left(Member member, long seq) implements Serializable {
    private static final long serialVersionUID = 1L;

    public boolean announced() {
      return !member.hidden();
    }
  }

  private long seq;
  private final LinkedHashMap<String, Member> members = new LinkedHashMap<>();

  /** The number of the last visible change. */
  public long seq() {
    return seq;
  }

  public int size() {
    return members.size();
  }

  public boolean isEmpty() {
    return members.isEmpty();
  }

  /** Adds {@code m} at the end unless its connection is a member already. */
  public Joined join(Member m) {
    String listed = visibleExcept(m.sid());
    if (members.containsKey(m.sid())) {
      return new Joined(listed, seq, false);
    }
    members.put(m.sid(), m);
    if (!m.hidden()) {
      seq++;
    }
    return new Joined(listed, seq, true);
  }

  /** Removes the member of connection {@code sid}: what it was, or null if it was not here. */
  public Left leave(String sid) {
    Member m = members.remove(sid);
    if (m == null) {
      return null;
    }
    if (!m.hidden()) {
      seq++;
    }
    return new Left(m, seq);
  }

  /** Removes every member of {@code node} (it left the cluster), in joining order. */
  public List<Left> dropNode(String node) {
    List<Left> gone = new ArrayList<>();
    for (Member m : List.copyOf(members.values())) {
      if (node.equals(m.node())) {
        gone.add(leave(m.sid()));
      }
    }
    return gone;
  }

  /** Whether any member is on {@code node}. */
  public boolean hasNode(String node) {
    return members.values().stream().anyMatch(m -> node.equals(m.node()));
  }

  private String visibleExcept(String sid) {
    StringBuilder list = new StringBuilder(2 + members.size() * 32).append('[');
    members.values().forEach(m -> {
      if (!m.hidden() && !m.sid().equals(sid)) {
        if (list.length() > 1) {
          list.append(',');
        }
        list.append(m.entry());
      }
    });
    return list.append(']').toString();
  }
}
