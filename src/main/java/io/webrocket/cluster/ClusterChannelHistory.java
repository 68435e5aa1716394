package io.webrocket.cluster;

import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.RingbufferConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.partition.PartitionAwareKey;
import com.hazelcast.ringbuffer.OverflowPolicy;
import com.hazelcast.ringbuffer.ReadResultSet;
import com.hazelcast.ringbuffer.Ringbuffer;
import com.hazelcast.ringbuffer.StaleSequenceException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.webrocket.history.ChannelHistory;
import io.webrocket.history.HistoryMetrics;
import io.webrocket.history.HistorySettings.Policy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * {@link ChannelHistory} in the cluster: one Hazelcast {@code Ringbuffer} per channel (capacity
 * the policy's size, time to live its lifetime, one synchronous backup; offset = sequence + 1)
 * and the channel's epoch in the map {@code webrocket.historyEpochs} (one synchronous backup).
 *
 * <p>The epoch and the ring are lost together: the ring is named {@code NAME@KEY} and the epoch's
 * map key is a {@link PartitionAwareKey} with partition key {@code KEY}, so both live in the
 * same partition, on the same owner and the same backup member. If both of those members are
 * lost, both structures are gone, and the first node that uses the channel again makes a new
 * epoch ({@code putIfAbsent}: every node agrees on it) — so a lost history always comes with a
 * new epoch.
 *
 * <p>Settings: ring buffer configuration is added with Hazelcast's dynamic configuration,
 * one wildcard configuration per distinct (size, lifetime), and the policy is part of the ring's
 * name: a reload that changes a channel's size or lifetime starts a new ring, hence a new epoch
 * (Hazelcast cannot resize a ring buffer, and dynamic configuration cannot be changed).
 *
 * <p>Appends use {@code addAllAsync} (consecutive sequences for one batch) and never block; reads
 * (head, tail, then the items) run on a worker thread.
 */
public final class ClusterChannelHistory implements ChannelHistory {
  static final String RING_PREFIX = "webrocket.history.";
  static final String EPOCHS = "webrocket.historyEpochs";
  /** Hazelcast's own limit on one read. */
  private static final int MAX_READ = 1000;

  private final Vertx vertx;
  private final HazelcastInstance hazelcast;
  private final HistoryMetrics metrics;
  /** Dynamic ring configurations added, per policy id. */
  private final Map<String, Future<Void>> configured = new ConcurrentHashMap<>();
  /** Known epochs and the last sequence this node appended, per (policy, channel). */
  private final Map<String, String> epochs = new ConcurrentHashMap<>();
  private final Map<String, Long> lastSequence = new ConcurrentHashMap<>();
  private volatile IMap<PartitionAwareKey<String, String>, String> epochMap;

  private ClusterChannelHistory(Vertx vertx, HazelcastInstance hazelcast, HistoryMetrics metrics) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.metrics = metrics;
  }

  /** The cluster's history when this node is clustered, else null. */
  public static ChannelHistory of(Vertx vertx, HistoryMetrics metrics) {
    HazelcastInstance h = Clustering.hazelcast(vertx);
    return h == null ? null : new ClusterChannelHistory(vertx, h, metrics);
  }

  /** The ring's name: policy and channel, and the channel as partition key. */
  static String ringName(String key, Policy policy) {
    return RING_PREFIX + policy.id() + "." + key + "@" + key;
  }

  /** The epoch's map key: in the ring's partition. */
  static PartitionAwareKey<String, String> epochKey(String key, Policy policy) {
    return new PartitionAwareKey<>(policy.id() + "|" + key, key);
  }

  private Future<Void> configure(Policy policy) {
    return configured.computeIfAbsent(policy.id(), id -> vertx.<Void>executeBlocking(() -> {
      hazelcast.getConfig().addRingBufferConfig(new RingbufferConfig(RING_PREFIX + id + ".*")
          .setCapacity(policy.size())
          .setTimeToLiveSeconds((int) Math.max(1, (policy.lifetimeMs() + 999) / 1000))
          .setBackupCount(1)
          .setAsyncBackupCount(0)
          .setInMemoryFormat(InMemoryFormat.BINARY));
      if (epochMap == null) {
        epochMap = hazelcast.getMap(EPOCHS);
      }
      return null;
    }, false).onFailure(err -> configured.remove(id)));
  }

  /** The ring's proxy: made once per node, on a worker thread (its first creation may talk to other members). */
  private Future<Ringbuffer<byte[]>> ring(String key, Policy policy) {
    String name = ringName(key, policy);
    return proxies.computeIfAbsent(name, n -> vertx.<Ringbuffer<byte[]>>executeBlocking(() -> hazelcast.getRingbuffer(n), false)
        .onFailure(err -> proxies.remove(n)));
  }

  private final Map<String, Future<Ringbuffer<byte[]>>> proxies = new ConcurrentHashMap<>();

  /** The epoch as the map has it now, made if missing; on a worker thread. */
  private String epochNow(String key, Policy policy) {
    String e = epochMap.putIfAbsent(epochKey(key, policy), io.webrocket.vhost.Secrets.hex(8));
    return e != null ? e : epochMap.get(epochKey(key, policy));
  }

  /** The channel was closed (announced on every node): what this node knows of it is stale. */
  public void forget(String vhost, String channel) {
    String key = ChannelHistory.key(vhost, channel);
    String suffix = "|" + key;
    epochs.keySet().removeIf(k -> k.endsWith(suffix));
    lastSequence.keySet().removeIf(k -> k.endsWith(suffix));
    proxies.keySet().removeIf(n -> n.endsWith("." + key + "@" + key));
  }

  /** The channel's epoch: the one in the map, or a new one if it has none (first use, or lost). */
  private Future<String> epoch(String key, Policy policy) {
    String cacheKey = policy.id() + "|" + key;
    String known = epochs.get(cacheKey);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    String fresh = io.webrocket.vhost.Secrets.hex(8);
    var ek = epochKey(key, policy);
    // Rare (a channel's first use on this node): the map has no asynchronous putIfAbsent.
    return vertx.executeBlocking(() -> epochMap.putIfAbsent(ek, fresh), false)
        .map(existing -> {
          String e = existing != null ? existing : fresh;
          epochs.put(cacheKey, e);
          return e;
        });
  }

  /**
   * {@code result}, completed on the caller's context: the futures cached here (configuration,
   * proxies) belong to the context that made them, and their continuations run there, but each
   * endpoint instance's state is confined to its own event loop.
   */
  private <T> Future<T> onCaller(java.util.function.Supplier<Future<T>> work) {
    io.vertx.core.Context caller = vertx.getOrCreateContext();
    io.vertx.core.Promise<T> done = io.vertx.core.Promise.promise();
    work.get().onComplete(r -> caller.runOnContext(v -> done.handle(r)));
    return done.future();
  }

  @Override
  public Future<Appended> append(String vhost, String channel, Policy policy, List<byte[]> bodies) {
    return onCaller(() -> appendAnywhere(vhost, channel, policy, bodies));
  }

  private Future<Appended> appendAnywhere(String vhost, String channel, Policy policy, List<byte[]> bodies) {
    String key = ChannelHistory.key(vhost, channel);
    String cacheKey = policy.id() + "|" + key;
    return configure(policy).compose(v -> epoch(key, policy)).compose(epoch -> ring(key, policy).compose(ring ->
        Future.fromCompletionStage(ring.addAllAsync(bodies, OverflowPolicy.OVERWRITE), vertx.getOrCreateContext()))
        .compose(last -> {
          long first = last - bodies.size() + 1;
          Long before = lastSequence.put(cacheKey, last);
          if (before != null && first <= before) {
            // The ring started again under this node (its members were lost): so did its epoch.
            epochs.remove(cacheKey);
            return epoch(key, policy).map(e -> new Appended(e, first + 1));
          }
          return Future.succeededFuture(new Appended(epoch, first + 1));
        }));
  }

  @Override
  public Future<Page> read(String vhost, String channel, Policy policy, long after, int limit) {
    return onCaller(() -> readAnywhere(vhost, channel, policy, after, limit));
  }

  private Future<Page> readAnywhere(String vhost, String channel, Policy policy, long after, int limit) {
    String key = ChannelHistory.key(vhost, channel);
    return configure(policy).compose(v -> ring(key, policy)).compose(ring -> vertx.executeBlocking(() -> {
      // Read from the map every time, not from this node's cache: a reader must see a loss.
      String epoch = epochNow(key, policy);
      for (int attempt = 0; ; attempt++) {
        long head = ring.headSequence();
        long tail = ring.tailSequence();
        List<Entry> out = new ArrayList<>();
        long start = Math.max(after, head); // offset after+1 is sequence after
        int count = (int) Math.min(Math.min(limit, MAX_READ), tail - start + 1);
        if (count > 0) {
          try {
            ReadResultSet<byte[]> rs = ring.readManyAsync(start, 0, count, null).toCompletableFuture().get();
            for (int i = 0; i < rs.size(); i++) {
              out.add(new Entry(rs.getSequence(i) + 1, rs.get(i)));
            }
          } catch (ExecutionException e) {
            if (e.getCause() instanceof StaleSequenceException && attempt < 3) {
              continue; // dropped while we read: read again from the new head
            }
            throw e;
          }
        }
        long oldest = out.isEmpty() ? head + 1 : Math.min(head + 1, out.get(0).offset());
        return new Page(epoch, oldest, tail + 1, out);
      }
    }, false));
  }

  @Override
  public Future<Void> drop(String vhost, String channel) {
    String key = ChannelHistory.key(vhost, channel);
    String suffix = "|" + key;
    forget(vhost, channel);
    return vertx.executeBlocking(() -> {
      if (epochMap == null) {
        epochMap = hazelcast.getMap(EPOCHS);
      }
      for (var o : hazelcast.getDistributedObjects()) {
        if (o.getName().startsWith(RING_PREFIX) && o.getName().endsWith("." + key + "@" + key)) {
          String policyId = o.getName().substring(RING_PREFIX.length(), o.getName().length() - key.length() * 2 - 2);
          if (epochMap != null) {
            epochMap.remove(new PartitionAwareKey<>(policyId + suffix, key));
          }
          o.destroy();
        }
      }
      return null;
    }, false);
  }
}
