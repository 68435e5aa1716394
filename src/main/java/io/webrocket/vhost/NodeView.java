package io.webrocket.vhost;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * This node's view of its vhosts, shared by the node's endpoint instances (Vert.x local maps:
 * node-wide, thread-safe, nothing leaves the node): which channels are open, a hash of each
 * vhost's token, and how many local subscribers each channel has.
 *
 * <p>The view only ever says "yes": a channel or token it does not know is asked of the vhost's
 * registry (the authority), and learnt from a positive answer. The registry takes entries
 * away on every node ({@link NodeViews}) before it confirms a change that removes them (a
 * channel closed, a token regenerated, a vhost deleted), so a removed channel or token is
 * refused on every node once the change is confirmed.
 *
 * <p>Learning races with forgetting: an answer asked before a forget may arrive after it. Each
 * vhost has a generation that a forget raises before it removes anything; a learner writes
 * first and checks the generation after, undoing its write if it moved (see {@link #learn}).
 */
public final class NodeView {
  private static final String SEP = "\n";

  private final LocalMap<String, Boolean> channels;
  private final LocalMap<String, String> tokens;
  private final LocalMap<String, Long> generations;
  private final LocalMap<String, Integer> counts;
  /** The workers connected to this node, by vhost and worker id, with the order they joined in. */
  private final LocalMap<String, Long> workers;
  private static final java.util.concurrent.atomic.AtomicLong WORKER_SEQ = new java.util.concurrent.atomic.AtomicLong();

  public NodeView(Vertx vertx) {
    this.channels = vertx.sharedData().getLocalMap("webrocket.view.channels");
    this.tokens = vertx.sharedData().getLocalMap("webrocket.view.tokens");
    this.generations = vertx.sharedData().getLocalMap("webrocket.view.generations");
    this.counts = vertx.sharedData().getLocalMap("webrocket.view.counts");
    this.workers = vertx.sharedData().getLocalMap("webrocket.view.workers");
  }

  private static String key(String vhost, String channel) {
    return vhost + SEP + channel;
  }

  /** The generation to pass to {@link #learnChannel} / {@link #learnToken} for an answer asked now. */
  public long generation(String vhost) {
    return generations.getOrDefault(vhost, 0L);
  }

  public boolean channelOpen(String vhost, String channel) {
    return channels.containsKey(key(vhost, channel));
  }

  /** The registry said the channel is open, in answer to a question asked at {@code generation}. */
  public boolean learnChannel(String vhost, String channel, long generation) {
    String k = key(vhost, channel);
    return learn(vhost, generation, () -> channels.put(k, Boolean.TRUE), () -> channels.remove(k));
  }

  /** True when {@code token} is the vhost's token as last confirmed by its registry. */
  public boolean tokenValid(String vhost, String token) {
    return token != null && tokenHashValid(vhost, hash(token));
  }

  /**
   * {@link #tokenValid} for a token hashed already ({@link #hash}): a persistent backend
   * connection sends its token with every request and hashes it once (hashing per request was a
   * few percent of a pipelined {@code BC}'s CPU).
   */
  public boolean tokenHashValid(String vhost, String tokenHash) {
    String known = tokens.get(vhost);
    return known != null && tokenHash != null && MessageDigest.isEqual(known.getBytes(StandardCharsets.US_ASCII),
        tokenHash.getBytes(StandardCharsets.US_ASCII));
  }

  public boolean learnToken(String vhost, String token, long generation) {
    String h = hash(token);
    return learn(vhost, generation, () -> tokens.put(vhost, h), () -> tokens.remove(vhost, h));
  }

  /** Writes, then keeps the write only if no forget of the vhost ran since {@code generation}. */
  private boolean learn(String vhost, long generation, Runnable write, Runnable undo) {
    write.run();
    if (generation(vhost) != generation) {
      undo.run();
      return false;
    }
    return true;
  }

  private void raise(String vhost) {
    generations.compute(vhost, (k, g) -> g == null ? 1L : g + 1);
  }

  void forgetChannel(String vhost, String channel) {
    raise(vhost);
    channels.remove(key(vhost, channel));
  }

  void forgetToken(String vhost) {
    raise(vhost);
    tokens.remove(vhost);
  }

  /** Everything known of the vhost (deleted, or every channel closed). */
  void forgetVhost(String vhost) {
    raise(vhost);
    tokens.remove(vhost);
    String prefix = vhost + SEP;
    channels.keySet().stream().filter(k -> k.startsWith(prefix)).toList().forEach(channels::remove);
  }

  /** A local subscriber joined ({@code +1}) or left ({@code -1}) {@code channel}. */
  public void count(String vhost, String channel, int delta) {
    counts.compute(key(vhost, channel), (k, n) -> {
      int next = (n == null ? 0 : n) + delta;
      return next <= 0 ? null : next;
    });
  }

  /** This node's subscriber count of every channel of the vhost that has one. */
  Map<String, Integer> counts(String vhost) {
    Map<String, Integer> out = new HashMap<>();
    String prefix = vhost + SEP;
    counts.entrySet().forEach(e -> {
      if (e.getKey().startsWith(prefix)) {
        out.put(e.getKey().substring(prefix.length()), e.getValue());
      }
    });
    return out;
  }

  /** True if the worker was not listed yet. */
  public boolean workerJoined(String vhost, String worker) {
    return workers.putIfAbsent(key(vhost, worker), WORKER_SEQ.incrementAndGet()) == null;
  }

  /** True if the worker was listed. */
  public boolean workerLeft(String vhost, String worker) {
    return workers.remove(key(vhost, worker)) != null;
  }

  /** This node's workers of the vhost, in the order they joined: {@code [[seq, id], ...]}. */
  io.vertx.core.json.JsonArray workers(String vhost) {
    String prefix = vhost + SEP;
    io.vertx.core.json.JsonArray out = new io.vertx.core.json.JsonArray();
    workers.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
        .sorted(java.util.Map.Entry.comparingByValue())
        .forEach(e -> out.add(new io.vertx.core.json.JsonArray().add(e.getValue()).add(e.getKey().substring(prefix.length()))));
    return out;
  }

  /** SHA-256 of a token, hex: the view keeps no token in clear. */
  public static String hash(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
