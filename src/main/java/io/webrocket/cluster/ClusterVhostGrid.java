package io.webrocket.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.webrocket.vhost.LocalVhostGrid;
import io.webrocket.vhost.Secrets;
import io.webrocket.vhost.VhostGrid;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * {@link VhostGrid} in Hazelcast maps (partitioned over the members, one synchronous backup by
 * default): {@code webrocket.grid.vhosts} maps a vhost path to its token, and {@code
 * webrocket.grid.channels:PATH} holds one entry per open channel of the vhost. A change is one
 * atomic call on the key's owner ({@code putIfAbsent}, {@code removeAsync}, {@code replace});
 * reads are {@code getAsync}. Calls that Hazelcast offers only blocking (put-if-absent, replace,
 * sizes, key sets, clearing a map) run on a worker thread: nothing here blocks an event loop.
 *
 * <p>A token is kept as {@code {"hash": SHA-256, "sealed": AES-GCM(token)}}, never in clear:
 * the sealing key is derived from {@code cluster.secret} (or, without one, from the cluster
 * name, which then only obscures it: a process that can join such a cluster can read it
 * anyway, see docs/security.md).
 */
public final class ClusterVhostGrid implements VhostGrid {
  static final String VHOSTS = "webrocket.grid.vhosts";
  private static final String CHANNELS = "webrocket.grid.channels:";
  /** Vhost path to the history rules set through the admin API (their JSON). */
  static final String HISTORY = "webrocket.grid.history";
  /** Not a vhost path (paths start with '/'): set once the durable store has been copied here. */
  private static final String LOADED = "#loaded";
  private static final String CHANNEL_VALUE = "1";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Vertx vertx;
  private final HazelcastInstance hazelcast;
  private final IMap<String, String> vhosts;
  private final IMap<String, String> history;
  private final SecretKeySpec sealKey;
  private final Map<String, IMap<String, String>> channelMaps = new ConcurrentHashMap<>();

  private ClusterVhostGrid(Vertx vertx, HazelcastInstance hazelcast, SecretKeySpec sealKey) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.sealKey = sealKey;
    this.vhosts = hazelcast.getMap(VHOSTS);
    this.history = hazelcast.getMap(HISTORY);
  }

  /**
   * The grid a node uses: this one when clustered (the proxies are made on a worker thread:
   * their first creation may talk to other members), else one in its own memory.
   *
   * @param cluster the node's {@code cluster} settings (the sealing key comes from them)
   */
  public static Future<VhostGrid> of(Vertx vertx, JsonObject cluster) {
    HazelcastInstance hazelcast = Clustering.hazelcast(vertx);
    if (hazelcast == null) {
      return Future.succeededFuture(new LocalVhostGrid());
    }
    SecretKeySpec key = sealKey(cluster);
    return vertx.executeBlocking(() -> new ClusterVhostGrid(vertx, hazelcast, key));
  }

  /** AES-256 key: HMAC-SHA256 of a fixed label under the cluster secret (else the cluster name). */
  static SecretKeySpec sealKey(JsonObject cluster) {
    String secret = Clustering.hasSecret(cluster) ? cluster.getString("secret") : cluster.getString("name");
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return new SecretKeySpec(mac.doFinal("webrocket vhost token seal".getBytes(StandardCharsets.UTF_8)), "AES");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
    }
  }

  /** The value kept for a token: its hash and the token sealed (random IV + AES-GCM). */
  static String seal(SecretKeySpec key, String token) {
    try {
      byte[] iv = new byte[12];
      RANDOM.nextBytes(iv);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
      byte[] sealed = c.doFinal(token.getBytes(StandardCharsets.UTF_8));
      byte[] out = new byte[iv.length + sealed.length];
      System.arraycopy(iv, 0, out, 0, iv.length);
      System.arraycopy(sealed, 0, out, iv.length, sealed.length);
      return new JsonObject().put("hash", Secrets.fingerprint(token)).put("sealed", Base64.getEncoder().encodeToString(out))
          .encode();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is part of every Java runtime", e);
    }
  }

  /** The token a kept value holds; fails for a value sealed with another key (tampered, or another secret). */
  static String unseal(SecretKeySpec key, String value) {
    try {
      byte[] in = Base64.getDecoder().decode(new JsonObject(value).getString("sealed"));
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, in, 0, 12));
      return new String(c.doFinal(in, 12, in.length - 12), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("a vhost token in the grid cannot be unsealed with this node's key", e);
    }
  }

  private <T> Future<T> async(CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext());
  }

  private IMap<String, String> channelsOf(String vhost) {
    return channelMaps.computeIfAbsent(vhost, v -> hazelcast.getMap(CHANNELS + v));
  }

  /** The vhost's channel map; made on a worker thread the first time (see {@link #of}). */
  private Future<IMap<String, String>> channelMap(String vhost) {
    IMap<String, String> known = channelMaps.get(vhost);
    return known != null ? Future.succeededFuture(known) : vertx.executeBlocking(() -> channelsOf(vhost), false);
  }

  @Override
  public Future<Map<String, String>> vhosts() {
    return vertx.executeBlocking(() -> {
      Map<String, String> out = new TreeMap<>();
      vhosts.entrySet().forEach(e -> {
        if (e.getKey().startsWith("/")) {
          out.put(e.getKey(), unseal(sealKey, e.getValue()));
        }
      });
      return out;
    }, false);
  }

  @Override
  public Future<String> token(String vhost) {
    return async(vhosts.getAsync(vhost)).map(v -> v == null ? null : unseal(sealKey, v));
  }

  @Override
  public Future<Boolean> createVhost(String vhost, String token) {
    // Hazelcast has no asynchronous put-if-absent: on a worker thread.
    String sealed = seal(sealKey, token);
    return vertx.executeBlocking(() -> vhosts.putIfAbsent(vhost, sealed) == null, false);
  }

  @Override
  public Future<Boolean> setToken(String vhost, String token) {
    // replace(): only an existing vhost gets a token, atomically on the key's owner.
    return vertx.executeBlocking(() -> vhosts.replace(vhost, seal(sealKey, token)) != null, false);
  }

  @Override
  public Future<Boolean> deleteVhost(String vhost) {
    return async(vhosts.removeAsync(vhost)).compose(previous -> async(history.removeAsync(vhost)).map(previous))
        .compose(previous -> channelMap(vhost).compose(m ->
        vertx.executeBlocking(() -> {
          m.clear();
          return previous != null;
        }, false)));
  }

  @Override
  public Future<Boolean> openChannel(String vhost, String channel) {
    return channelMap(vhost).compose(m -> vertx.executeBlocking(() -> m.putIfAbsent(channel, CHANNEL_VALUE) == null, false));
  }

  @Override
  public Future<Boolean> closeChannel(String vhost, String channel) {
    return channelMap(vhost).compose(m -> async(m.removeAsync(channel))).map(p -> p != null);
  }

  @Override
  public Future<List<String>> closeChannels(String vhost) {
    return channelMap(vhost).compose(m -> vertx.executeBlocking(() -> {
      List<String> closed = new ArrayList<>();
      for (String name : m.keySet()) {
        // One by one: a channel some other node closes meanwhile is reported by that node only.
        if (m.remove(name) != null) {
          closed.add(name);
        }
      }
      closed.sort(null);
      return closed;
    }, false));
  }

  @Override
  public Future<Boolean> channelOpen(String vhost, String channel) {
    return channelMap(vhost).compose(m -> async(m.getAsync(channel))).map(v -> v != null);
  }

  @Override
  public Future<List<String>> channels(String vhost) {
    return channelMap(vhost).compose(m -> vertx.executeBlocking(() -> m.keySet().stream().sorted().toList(), false));
  }

  @Override
  public Future<Integer> channelCount(String vhost) {
    return channelMap(vhost).compose(m -> vertx.executeBlocking(m::size, false));
  }

  @Override
  public Future<String> historyRules(String vhost) {
    return async(history.getAsync(vhost));
  }

  @Override
  public Future<Void> setHistoryRules(String vhost, String rules) {
    return rules == null ? async(history.removeAsync(vhost)).mapEmpty() : async(history.setAsync(vhost, rules)).mapEmpty();
  }

  @Override
  public Future<Boolean> loaded() {
    return async(vhosts.getAsync(LOADED)).map(v -> v != null);
  }

  @Override
  public Future<Void> markLoaded() {
    return async(vhosts.putAsync(LOADED, "true")).mapEmpty();
  }
}
