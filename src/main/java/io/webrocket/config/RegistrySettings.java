package io.webrocket.config;

import io.vertx.core.json.JsonObject;

/**
 * What a vhost registry applies, live: {@code tokens.lifetimeMs} (new single access tokens get
 * it; issued ones keep theirs) and {@code limits.channelsPerVhost}. Not a section of its own:
 * the part of two sections a registry needs, so that each of a node's many registries reads
 * only that much of a reload message.
 */
public record RegistrySettings(long accessTokenLifetimeMs, int channelsPerVhost) {

  /** From a whole configuration, as the reload message carries it; same checks as {@link Settings#parse}. */
  public static RegistrySettings of(JsonObject config) {
    Section root = Section.root(config);
    return new RegistrySettings(Settings.tokenLifetimeMs(root), LimitsSettings.parse(root.section("limits")).channelsPerVhost());
  }
}
