package io.webrocket.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Checked, typed reads of one configuration section for the settings parsers. Every error is a
 * {@link Settings.InvalidException} naming the key by its dotted path ({@code websocket.port}).
 * Normalizing reads (a blank file name meaning none) write the normal form back, so the JSON
 * that travels to the verticles says the same as the records.
 */
final class Section {
  private final JsonObject json;
  private final String path;

  private Section(JsonObject json, String path) {
    this.json = json;
    this.path = path;
  }

  /** The whole configuration (top-level keys have no prefix). */
  static Section root(JsonObject json) {
    return new Section(json, "");
  }

  /** A section given alone (a reload message), named {@code path} in errors. */
  static Section of(JsonObject json, String path) {
    if (json == null) {
      throw new Settings.InvalidException(path, "must be an object");
    }
    return new Section(json, path);
  }

  /** {@code key} of this section, which must be an object. */
  Section section(String key) {
    if (!(json.getValue(key) instanceof JsonObject o)) {
      throw new Settings.InvalidException(path(key), "must be an object");
    }
    return new Section(o, path(key));
  }

  /** The section's JSON, as checked (and normalized) so far. */
  JsonObject json() {
    return json;
  }

  String path() {
    return path;
  }

  String path(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  Object value(String key) {
    return json.getValue(key);
  }

  /** A whole number from {@code min} to {@code max}, of any JSON number type. */
  long number(String key, long min, long max) {
    Object v = json.getValue(key);
    if (!(v instanceof Number n) || n.doubleValue() != n.longValue() || n.longValue() < min || n.longValue() > max) {
      throw new Settings.InvalidException(path(key), "must be an integer from " + min + " to " + max + ", got " + v);
    }
    return n.longValue();
  }

  int integer(String key, int min, int max) {
    return (int) number(key, min, max);
  }

  String string(String key) {
    if (!(json.getValue(key) instanceof String s) || s.isBlank()) {
      throw new Settings.InvalidException(path(key), "must be a non-empty string");
    }
    return s;
  }

  boolean bool(String key) {
    if (!(json.getValue(key) instanceof Boolean b)) {
      throw new Settings.InvalidException(path(key), "must be true or false, got " + json.getValue(key));
    }
    return b;
  }

  /** A name: 1-64 letters, digits, '_' or '-'. */
  String name(String key) {
    if (!(json.getValue(key) instanceof String s) || !s.matches("[\\w\\-]{1,64}")) {
      throw new Settings.InvalidException(path(key), "must be 1-64 letters, digits, '_' or '-'");
    }
    return s;
  }

  /** A file name, or null for none; with {@code blankIsNone} a blank one is none (and is written back as null). */
  String file(String key, boolean blankIsNone) {
    Object v = json.getValue(key);
    if (blankIsNone && v instanceof String s && s.isBlank()) {
      json.putNull(key);
      return null;
    }
    if (v != null && !(v instanceof String)) {
      throw new Settings.InvalidException(path(key), "must be a file name");
    }
    return (String) v;
  }

  /** An Origin allow-list: origins as browsers send them, e.g. {@code https://example.com}. */
  List<String> origins(String key) {
    if (!(json.getValue(key) instanceof JsonArray list)) {
      throw new Settings.InvalidException(path(key), "must be a list of origins, got " + json.getValue(key));
    }
    List<String> out = new ArrayList<>(list.size());
    for (Object o : list) {
      if (!(o instanceof String origin) || origin.isBlank()) {
        throw new Settings.InvalidException(path(key), "must be a list of origins, got " + o);
      }
      out.add(origin);
    }
    return Collections.unmodifiableList(out);
  }

  /** The strings of a list already checked to hold only strings. */
  static List<String> strings(JsonArray list) {
    List<String> out = new ArrayList<>(list.size());
    list.forEach(o -> out.add((String) o));
    return Collections.unmodifiableList(out);
  }
}
