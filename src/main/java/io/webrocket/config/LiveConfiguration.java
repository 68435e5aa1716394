package io.webrocket.config;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import java.util.Optional;

/**
 * The configuration a reload put in force on this node, for a verticle deployed after it.
 *
 * <p>Why: a reload is published on {@link Addresses#config()} and each consumer applies it on its
 * own event loop, in no order across verticles. A verticle deployed by another one (a vhost's
 * registry, deployed by the directory) got the deployer's copy, which could still be the one
 * before the reload when a running registry already applied it: an operator who saw the new
 * channel limit in force and then created a vhost got the old one (HotReloadTest caught it in
 * CI). Recorded before it is published, the latest configuration is what such a verticle reads
 * once its own consumer is registered, so it misses neither that reload nor a later one.
 */
public final class LiveConfiguration {
  private static final String MAP = "webrocket.liveConfiguration";
  private static final String KEY = "latest";

  private LiveConfiguration() {}

  /** The reloader's: records {@code json} as the node's configuration, then publishes it to the running verticles. */
  public static void publish(Vertx vertx, JsonObject json) {
    vertx.sharedData().<String, JsonObject>getLocalMap(MAP).put(KEY, json);
    vertx.eventBus().publish(Addresses.config(), json);
  }

  /** The last configuration a reload put in force on this node; empty before the first reload. */
  public static Optional<JsonObject> latest(Vertx vertx) {
    return Optional.ofNullable(vertx.sharedData().<String, JsonObject>getLocalMap(MAP).get(KEY));
  }
}
