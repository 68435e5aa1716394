package io.webrocket.history;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.webrocket.bus.Fanout;
import io.webrocket.history.HistorySettings.Policy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where an edge verticle instance (a WebSocket or backend endpoint) sends the broadcasts of
 * channels with history: each is appended to the channel's history, then its frame — encoded
 * once, with the offset the append gave — is published to every node.
 *
 * <p>Order: per channel, appends leave one batch at a time, in call order (what arrives while a
 * batch is under way goes in the next one), so the broadcasts of one sender get increasing
 * offsets in the order it sent them, and every endpoint delivers them in offset order. One
 * batch per channel in flight also makes a busy channel cost one history operation per batch,
 * not per event. Confined to the instance's context.
 */
public final class HistoryAppender {
  private final Vertx vertx;
  private final Histories histories;
  private final Map<String, Queue> queues = new HashMap<>();

  private static final class Queue {
    final String vhost;
    final String channel;
    List<byte[]> waiting = new ArrayList<>();
    List<Promise<Long>> promises = new ArrayList<>();
    Policy policy;
    boolean busy;

    Queue(String vhost, String channel) {
      this.vhost = vhost;
      this.channel = channel;
    }
  }

  public HistoryAppender(Vertx vertx, Histories histories) {
    this.vertx = vertx;
    this.histories = histories;
  }

  /**
   * Appends {@code body} ({@link OffsetFrames#body}) to the history of (vhost, channel) and
   * publishes it with its offset. The result is the offset once published; it fails if the
   * history could not keep it (nothing is published then: an event without an offset would
   * break every reader's order).
   */
  public Future<Long> publish(String vhost, String channel, Policy policy, byte[] body) {
    String key = ChannelHistory.key(vhost, channel);
    Queue q = queues.computeIfAbsent(key, k -> new Queue(vhost, channel));
    Promise<Long> p = Promise.promise();
    q.waiting.add(body);
    q.promises.add(p);
    q.policy = policy;
    if (!q.busy) {
      send(key, q);
    }
    return p.future();
  }

  private void send(String key, Queue q) {
    List<byte[]> bodies = q.waiting;
    List<Promise<Long>> promises = q.promises;
    q.waiting = new ArrayList<>();
    q.promises = new ArrayList<>();
    q.busy = true;
    Context context = vertx.getOrCreateContext();
    histories.store().append(q.vhost, q.channel, q.policy, bodies).onComplete(done -> context.runOnContext(v -> {
      if (done.succeeded()) {
        ChannelHistory.Appended a = done.result();
        histories.metrics().appended(bodies.size());
        for (int i = 0; i < bodies.size(); i++) {
          long offset = a.firstOffset() + i;
          Fanout.publishAt(vertx, q.vhost, q.channel, OffsetFrames.frame(bodies.get(i), offset), offset, a.epoch());
          promises.get(i).complete(offset);
        }
      } else {
        histories.metrics().appendFailed();
        promises.forEach(p -> p.fail(done.cause()));
      }
      if (q.waiting.isEmpty()) {
        q.busy = false;
        queues.remove(key);
      } else {
        send(key, q);
      }
    }));
  }
}
