package io.webrocket.presence;

import io.vertx.core.Future;
import io.webrocket.presence.PresenceMembers.Joined;
import io.webrocket.presence.PresenceMembers.Left;
import io.webrocket.presence.PresenceMembers.Member;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@link PresenceGrid} of a node that is not clustered: a plain map, confined to the one
 * {@link PresenceService} that owns it (its event loop), so every change is atomic.
 */
public final class LocalPresenceGrid implements PresenceGrid {
  private final Map<String, PresenceMembers> channels = new HashMap<>();

  @Override
  public Future<Joined> join(String vhost, String channel, Member m) {
    return Future.succeededFuture(channels.computeIfAbsent(PresenceGrid.key(vhost, channel), k -> new PresenceMembers())
        .join(m));
  }

  @Override
  public Future<Left> leave(String vhost, String channel, String sid) {
    PresenceMembers members = channels.get(PresenceGrid.key(vhost, channel));
    // An empty channel keeps its entry: its sequence goes on (see PresenceStreams).
    return Future.succeededFuture(members == null ? null : members.leave(sid));
  }

  @Override
  public Future<List<Dropped>> dropNode(String node) {
    List<Dropped> dropped = new ArrayList<>();
    channels.forEach((key, members) -> members.dropNode(node)
        .forEach(l -> dropped.add(new Dropped(PresenceGrid.vhostOf(key), PresenceGrid.channelOf(key), l))));
    return Future.succeededFuture(dropped);
  }

  @Override
  public Future<Void> dropChannel(String vhost, String channel) {
    channels.remove(PresenceGrid.key(vhost, channel));
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> dropVhost(String vhost) {
    channels.keySet().removeIf(k -> PresenceGrid.vhostOf(k).equals(vhost));
    return Future.succeededFuture();
  }

  @Override
  public void onNodeLeft(Consumer<String> handler) {
    // One node: no other node can leave.
  }
}
