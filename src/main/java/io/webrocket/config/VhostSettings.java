package io.webrocket.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Names;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One declared vhost of the {@code vhosts} section: {@code {"/demo": {"channels": ["chat"],
 * "origins": ["https://example.com"]}}}. Declared vhosts and channels are created if missing,
 * at start and on reload; a declaration that disappears deletes nothing.
 *
 * <p>A new per-vhost key is a new component here and one line in {@link #parse}.
 *
 * @param channels channels opened if missing
 * @param origins the vhost's own Origin allow-list, or null: {@code websocket.allowedOrigins} applies
 */
public record VhostSettings(List<String> channels, List<String> origins) {

  public VhostSettings {
    channels = List.copyOf(channels);
    origins = origins == null ? null : List.copyOf(origins);
  }

  /** The declarations in the order written; a vhost declared as null is an empty declaration. */
  static Map<String, VhostSettings> parseAll(Section vhosts) {
    Map<String, VhostSettings> out = new LinkedHashMap<>();
    for (String path : vhosts.json().fieldNames()) {
      if (!Names.isValidVhost(path) || Names.isReservedAdminPath(path)) {
        throw new Settings.InvalidException("vhosts." + path, "invalid vhost path");
      }
      Object spec = vhosts.value(path);
      if (spec == null) {
        vhosts.json().put(path, new JsonObject());
      } else if (!(spec instanceof JsonObject)) {
        throw new Settings.InvalidException("vhosts." + path, "must be an object");
      }
      out.put(path, parse(vhosts.section(path)));
    }
    return Collections.unmodifiableMap(out);
  }

  static VhostSettings parse(Section s) {
    List<String> origins = s.json().containsKey("origins") ? s.origins("origins") : null;
    Object chans = s.value("channels");
    List<String> channels = List.of();
    if (chans != null) {
      if (!(chans instanceof JsonArray list)) {
        throw new Settings.InvalidException(s.path("channels"), "must be a list of channel names");
      }
      for (Object ch : list) {
        if (!(ch instanceof String n) || !Names.isValidChannel(n)) {
          throw new Settings.InvalidException(s.path("channels"), "invalid channel name: " + ch);
        }
      }
      channels = Section.strings(list);
    }
    return new VhostSettings(channels, origins);
  }
}
