package io.webrocket.history;

import io.vertx.core.json.JsonObject;
import io.webrocket.config.Settings.InvalidException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which channels keep a history, and the node's bounds on it, parsed once from the configuration
 * (at start and at each reload): per vhost, {@code "history": {"chat*": {"size": 1000,
 * "lifetimeMs": 300000}}} (a pattern over the whole channel name, {@code *} any run of
 * characters; the first pattern in declaration order that matches wins), plus the node-wide
 * {@code history} section.
 *
 * @param vhosts the rules of each declared vhost, in declaration order
 * @param maxBytesPerNode bytes of history a node keeps in its own memory, all channels together
 * @param maxBytesPerChannel bytes one channel's history may hold on a node (oldest dropped first)
 * @param maxSize the largest {@code size} a rule may ask for
 * @param maxLifetimeMs the longest {@code lifetimeMs} a rule may ask for
 * @param reorderWindowMs how long a WebSocket endpoint holds an event that arrived ahead of an
 *     earlier offset before it fetches the missing ones from the history
 * @param replayPage entries read from the history per step of a recovery or a history read
 * @param heldPerChannel events an endpoint instance holds per channel while it waits for a gap
 * @param maxRulesBodyBytes bytes a WARI {@code PUT /VHOST/history} body may have (413 beyond)
 * @param maxRulesPerVhost patterns a vhost's rules may have when set through WARI (400 beyond)
 */
public record HistorySettings(Map<String, List<Rule>> vhosts, long maxBytesPerNode, long maxBytesPerChannel,
    int maxSize, long maxLifetimeMs, long reorderWindowMs, int replayPage, int heldPerChannel,
    int maxRulesBodyBytes, int maxRulesPerVhost) {

  /** One pattern of a vhost and the history its channels keep. */
  public record Rule(String pattern, Pattern regex, Policy policy) {}

  /**
   * The history of one channel: at most {@code size} events, each for at most {@code lifetimeMs},
   * and at most {@code maxBytes} of them on a node.
   */
  public record Policy(int size, long lifetimeMs, long maxBytes) {
    /** Names the policy in cluster structure names: a change of size or lifetime starts a new history. */
    public String id() {
      return size + "-" + lifetimeMs;
    }

    public JsonObject toJson() {
      return new JsonObject().put("size", size).put("lifetimeMs", lifetimeMs).put("maxBytes", maxBytes);
    }
  }

  public static JsonObject defaults() {
    return new JsonObject()
        .put("maxBytesPerNode", 64L * 1024 * 1024)
        .put("maxBytesPerChannel", 8L * 1024 * 1024)
        .put("maxSize", 100_000)
        .put("maxLifetimeMs", 86_400_000L)
        .put("reorderWindowMs", 200L)
        .put("replayPage", 500)
        .put("heldPerChannel", 10_000)
        .put("maxRulesBodyBytes", 64 * 1024)
        .put("maxRulesPerVhost", 100);
  }

  public static final HistorySettings NONE = parse(new JsonObject().put("history", defaults()).put("vhosts", new JsonObject()));

  /** The policy of {@code channel} of {@code vhost}, or null if it keeps no history. */
  public Policy policy(String vhost, String channel) {
    List<Rule> rules = vhosts.get(vhost);
    return rules == null ? null : match(rules, channel);
  }

  /** The policy of the first rule that matches {@code channel}, or null. */
  public static Policy match(List<Rule> rules, String channel) {
    for (Rule r : rules) {
      if (r.regex().matcher(channel).matches()) {
        return r.policy();
      }
    }
    return null;
  }

  /** The rules of one vhost as JSON ({@code {"chat*": {"size", "lifetimeMs", "maxBytes"}}}). */
  public JsonObject rulesJson(String vhost) {
    JsonObject o = new JsonObject();
    for (Rule r : vhosts.getOrDefault(vhost, List.of())) {
      o.put(r.pattern(), r.policy().toJson());
    }
    return o;
  }

  /**
   * Parses and checks the {@code history} section and every vhost's {@code history} rules of a
   * whole configuration. Throws {@link InvalidException} naming the key.
   */
  public static HistorySettings parse(JsonObject config) {
    JsonObject h = config.getValue("history") instanceof JsonObject o ? o : null;
    if (h == null) {
      throw new InvalidException("history", "must be an object");
    }
    long perNode = range(h, "maxBytesPerNode", 0, 1L << 40);
    long perChannel = range(h, "maxBytesPerChannel", 1024, 1L << 40);
    int maxSize = (int) range(h, "maxSize", 1, 10_000_000);
    long maxLifetime = range(h, "maxLifetimeMs", 1000, 365L * 86_400_000);
    long window = range(h, "reorderWindowMs", 1, 60_000);
    int page = (int) range(h, "replayPage", 1, 100_000);
    int held = (int) range(h, "heldPerChannel", 16, 1_000_000);
    int rulesBody = (int) range(h, "maxRulesBodyBytes", 1024, 16 * 1024 * 1024);
    int rulesPerVhost = (int) range(h, "maxRulesPerVhost", 1, 10_000);
    Map<String, List<Rule>> vhosts = new LinkedHashMap<>();
    JsonObject declared = config.getValue("vhosts") instanceof JsonObject v ? v : new JsonObject();
    for (String path : declared.fieldNames()) {
      if (!(declared.getValue(path) instanceof JsonObject spec) || spec.getValue("history") == null) {
        continue;
      }
      String key = "vhosts." + path + ".history";
      if (!(spec.getValue("history") instanceof JsonObject rules)) {
        throw new InvalidException(key, "must be an object of channel patterns");
      }
      vhosts.put(path, rules(key, rules, maxSize, maxLifetime, perChannel));
    }
    return new HistorySettings(Map.copyOf(vhosts), perNode, perChannel, maxSize, maxLifetime, window, page, held,
        rulesBody, rulesPerVhost);
  }

  /**
   * A vhost's rules, in declaration order, from the file or as given through the admin API
   * ({@code key} names them in errors). Throws {@link InvalidException}.
   */
  public static List<Rule> rules(String key, JsonObject rules, int maxSize, long maxLifetime, long perChannel) {
    List<Rule> list = new ArrayList<>();
    for (String pattern : rules.fieldNames()) {
      list.add(rule(key + "." + pattern, pattern, rules.getValue(pattern), maxSize, maxLifetime, perChannel));
    }
    return List.copyOf(list);
  }

  /** One rule, also as given through the admin API. */
  public static Rule rule(String key, String pattern, Object value, int maxSize, long maxLifetime, long perChannel) {
    if (pattern.isEmpty() || pattern.length() > 129 || !pattern.matches("[A-Za-z0-9_.*-]+")) {
      throw new InvalidException(key, "a pattern is a channel name in which * matches any run of characters");
    }
    if (!(value instanceof JsonObject p)) {
      throw new InvalidException(key, "must be an object with size and lifetimeMs");
    }
    JsonObject withDefaults = new JsonObject().put("size", 100).put("lifetimeMs", 300_000L).mergeIn(p);
    for (String k : withDefaults.fieldNames()) {
      if (!k.equals("size") && !k.equals("lifetimeMs")) {
        throw new InvalidException(key + "." + k, "unknown key (size and lifetimeMs are known)");
      }
    }
    int size = (int) range(withDefaults, "size", 1, maxSize, key);
    long lifetime = range(withDefaults, "lifetimeMs", 1000, maxLifetime, key);
    return new Rule(pattern, glob(pattern), new Policy(size, lifetime, perChannel));
  }

  private static Pattern glob(String pattern) {
    return Pattern.compile(globRegex(pattern));
  }

  private static String globRegex(String pattern) {
    StringBuilder re = new StringBuilder();
    int start = 0;
    for (int i = 0; i < pattern.length(); i++) {
      if (pattern.charAt(i) == '*') {
        if (i > start) {
          re.append(Pattern.quote(pattern.substring(start, i)));
        }
        re.append(".*");
        start = i + 1;
      }
    }
    if (start < pattern.length()) {
      re.append(Pattern.quote(pattern.substring(start)));
    }
    return re.toString();
  }

  private static long range(JsonObject o, String k, long min, long max) {
    return range(o, k, min, max, "history");
  }

  private static long range(JsonObject o, String k, long min, long max, String section) {
    Object v = o.getValue(k);
    if (!(v instanceof Number n) || n.doubleValue() != n.longValue() || n.longValue() < min || n.longValue() > max) {
      throw new InvalidException(section + "." + k, "must be an integer from " + min + " to " + max + ", got " + v);
    }
    return n.longValue();
  }
}
