package io.webrocket.store;

import io.vertx.core.Future;
import java.util.List;

/**
 * The durable state of the broker: vhosts with their access tokens, channels, unexpired single
 * access tokens and node settings (the admin cookie).
 *
 * <p>Guarantee: a returned future succeeds only once the change is durable — it survives a
 * {@code kill -9} of the process. Changes are applied in the order the calls were made.
 */
public interface Store {

  record VhostRecord(String path, String token, List<String> channels, List<AccessTokenRecord> accessTokens) {}

  record AccessTokenRecord(String token, String uid, String permission, long expiresAt) {}

  /** Succeeds when the backing database answers (readiness); changes nothing. */
  Future<Void> ping();

  /** Everything, to rebuild the in-memory registries at start-up. Expired tokens are left out. */
  Future<List<VhostRecord>> loadAll();

  Future<Void> putVhost(String path, String token);

  /** Deletes the vhost with its channels and tokens. */
  Future<Void> deleteVhost(String path);

  Future<Void> putChannel(String vhost, String channel);

  Future<Void> deleteChannel(String vhost, String channel);

  Future<Void> deleteChannels(String vhost);

  Future<Void> putAccessToken(String vhost, AccessTokenRecord token);

  Future<Void> deleteAccessToken(String token);

  Future<Void> deleteExpiredAccessTokens(long now);

  /** The history rules set through the admin API, per vhost (their JSON). */
  Future<java.util.Map<String, String>> historyRules();

  /** Keeps the vhost's admin history rules ({@code rules} null removes them); gone with the vhost. */
  Future<Void> putHistoryRules(String vhost, String rules);

  /**
   * A setting of this node, or null. Settings are per node: a store shared by several nodes
   * keeps each node's settings apart.
   */
  Future<String> getSetting(String key);

  Future<Void> putSetting(String key, String value);
}
