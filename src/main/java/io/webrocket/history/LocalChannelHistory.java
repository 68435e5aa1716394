package io.webrocket.history;

import io.vertx.core.Future;
import io.vertx.core.shareddata.Shareable;
import io.webrocket.history.HistorySettings.Policy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;

/**
 * {@link ChannelHistory} of a node that is not clustered: a ring per channel in this node's
 * memory, shared by all of the node's verticles (each ring is locked while used; a ring's work
 * is a few deque operations). Epochs are fresh at every start: nothing survives a restart, and a
 * client recovering across one is told so ({@code recovered: false}).
 *
 * <p>Bounds: per channel its policy's size, lifetime and bytes; per node {@code maxBytesPerNode}:
 * an append that would go over it drops the oldest events of its own channel first, and keeps
 * nothing if that is not enough (the offsets still advance: a reader is told the history does not
 * reach back). Expired events leave on every use of their ring and in {@link #sweep}.
 */
public final class LocalChannelHistory implements ChannelHistory, Shareable {
  /** What a kept event costs beyond its body: the entry, the deque slot, the array header. */
  static final int ENTRY_OVERHEAD = 64;

  private final Map<String, Ring> rings = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong entries = new AtomicLong();
  private final HistoryMetrics metrics;
  private volatile long maxBytesPerNode;

  private static final class Kept {
    final long offset;
    final byte[] body;
    final long at;

    Kept(long offset, byte[] body, long at) {
      this.offset = offset;
      this.body = body;
      this.at = at;
    }
  }

  private static final class Ring {
    final String epoch = Epochs.fresh();
    final ArrayDeque<Kept> kept = new ArrayDeque<>();
    long top;
    long bytes;
  }

  public LocalChannelHistory(long maxBytesPerNode, HistoryMetrics metrics) {
    this.maxBytesPerNode = maxBytesPerNode;
    this.metrics = metrics;
  }

  public void maxBytesPerNode(long max) {
    this.maxBytesPerNode = max;
  }

  /** Bytes kept on this node (bodies and overhead). */
  public long bytes() {
    return bytes.get();
  }

  public long entries() {
    return entries.get();
  }

  public int channels() {
    return rings.size();
  }

  @Override
  public Future<Appended> append(String vhost, String channel, Policy policy, List<byte[]> bodies) {
    return Future.succeededFuture(appendNow(ChannelHistory.key(vhost, channel), policy, bodies, System.currentTimeMillis()));
  }

  Appended appendNow(String key, Policy policy, List<byte[]> bodies, long now) {
    Ring ring = rings.computeIfAbsent(key, k -> new Ring());
    synchronized (ring) {
      long first = ring.top + 1;
      for (byte[] body : bodies) {
        ring.top++;
        long cost = body.length + ENTRY_OVERHEAD;
        ring.kept.addLast(new Kept(ring.top, body, now));
        ring.bytes += cost;
        bytes.addAndGet(cost);
        entries.incrementAndGet();
      }
      trim(ring, policy, now);
      return new Appended(ring.epoch, first);
    }
  }

  @Override
  public Future<Page> read(String vhost, String channel, Policy policy, long after, int limit) {
    return Future.succeededFuture(readNow(ChannelHistory.key(vhost, channel), policy, after, limit, System.currentTimeMillis()));
  }

  Page readNow(String key, Policy policy, long after, int limit, long now) {
    Ring ring = rings.computeIfAbsent(key, k -> new Ring());
    synchronized (ring) {
      trim(ring, policy, now);
      long oldest = ring.kept.isEmpty() ? ring.top + 1 : ring.kept.peekFirst().offset;
      List<Entry> out = new ArrayList<>();
      if (limit > 0 && after < ring.top) {
        // Offsets are consecutive in the deque: index straight to the first one wanted.
        long skip = Math.max(0, after + 1 - oldest);
        Iterator<Kept> it = ring.kept.iterator();
        for (long i = 0; i < skip && it.hasNext(); i++) {
          it.next();
        }
        while (it.hasNext() && out.size() < limit) {
          Kept k = it.next();
          out.add(new Entry(k.offset, k.body));
        }
      }
      return new Page(ring.epoch, oldest, ring.top, out);
    }
  }

  @Override
  public Future<Void> drop(String vhost, String channel) {
    Ring ring = rings.remove(ChannelHistory.key(vhost, channel));
    if (ring != null) {
      synchronized (ring) {
        forget(ring);
      }
    }
    return Future.succeededFuture();
  }

  /**
   * Drops expired events everywhere, and the rings of channels that keep no history any more
   * ({@code policyOf} answers null for them; it gets the key's vhost and channel).
   */
  public void sweep(java.util.function.BiFunction<String, String, Policy> policyOf, long now) {
    for (Map.Entry<String, Ring> e : rings.entrySet()) {
      String key = e.getKey();
      int colon = key.lastIndexOf(':');
      Policy p = colon < 0 ? null : policyOf.apply(key.substring(0, colon), key.substring(colon + 1));
      Ring ring = e.getValue();
      if (p == null) {
        rings.remove(key, ring);
        synchronized (ring) {
          forget(ring);
        }
        continue;
      }
      synchronized (ring) {
        trim(ring, p, now);
      }
    }
  }

  /** Applies the bounds, oldest first: size, lifetime, the channel's bytes, then the node's bytes. */
  private void trim(Ring ring, Policy policy, long now) {
    drop(ring, (r, k) -> r.kept.size() > policy.size(), "size");
    long expired = now - policy.lifetimeMs();
    drop(ring, (r, k) -> k.at <= expired, "lifetime");
    drop(ring, (r, k) -> r.bytes > policy.maxBytes(), "channelBytes");
    drop(ring, (r, k) -> bytes.get() > maxBytesPerNode, "nodeBytes");
  }

  private void drop(Ring ring, BiPredicate<Ring, Kept> while_, String reason) {
    int n = 0;
    Kept k;
    while ((k = ring.kept.peekFirst()) != null && while_.test(ring, k)) {
      ring.kept.pollFirst();
      long cost = k.body.length + ENTRY_OVERHEAD;
      ring.bytes -= cost;
      bytes.addAndGet(-cost);
      entries.decrementAndGet();
      n++;
    }
    if (n > 0 && metrics != null) {
      metrics.evicted(reason, n);
    }
  }

  private void forget(Ring ring) {
    bytes.addAndGet(-ring.bytes);
    entries.addAndGet(-ring.kept.size());
    ring.kept.clear();
    ring.bytes = 0;
  }
}
