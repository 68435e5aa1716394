package io.webrocket.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Merges the two generator files of a {@code bench/cluster.sh} run ({@code single.json}: one
 * node; {@code cluster.json}: three nodes, subscribers spread over them) into one summary JSON
 * and prints the side-by-side tables (Markdown).
 *
 * <pre>java -cp webrocket-bench.jar io.webrocket.bench.ClusterReport RUN_DIR SUMMARY.json [COMMAND]</pre>
 */
public final class ClusterReport {
  private static final String[] PUBLISHERS = {"browser", "wbp"};

  private ClusterReport() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    JsonObject single = read(dir.resolve("single.json"));
    JsonObject cluster = read(dir.resolve("cluster.json"));
    JsonObject summary = new JsonObject()
        .put("run", dir.getFileName().toString())
        .put("command", args.length > 2 ? args[2] : null)
        .put("setup", "1 node vs 3 clustered nodes, all servers pinned to CPU 0, generator on CPU 1:"
            + " the clustering overhead on one core, not scale-out")
        .put("single", single)
        .put("cluster", cluster);

    java.util.TreeSet<Integer> ns = new java.util.TreeSet<>();
    for (JsonObject r : new JsonObject[] {single, cluster}) {
      r.getJsonObject("fanout", new JsonObject()).fieldNames().forEach(n -> ns.add(Integer.parseInt(n)));
    }

    StringBuilder md = new StringBuilder();
    md.append("| N | publisher | pass rule | 1 node: max deliveries/s | 3 nodes: max deliveries/s | 3 nodes / 1 node"
        + " | 1 node: p50 / p99 at half (ms) | 3 nodes: p50 / p99 at half (ms)"
        + " | no loss up to at least (any p99): 1 node / 3 nodes |\n");
    md.append("|---:|---|---|---:|---:|---:|---|---|---|\n");
    JsonArray rows = new JsonArray();
    for (int n : ns) {
      for (String pub : PUBLISHERS) {
        JsonObject a = sweep(single, n, pub);
        JsonObject b = sweep(cluster, n, pub);
        if (a == null && b == null) {
          continue;
        }
        Object maxA = a == null ? null : a.getValue("maxDeliveriesPerSec");
        Object maxB = b == null ? null : b.getValue("maxDeliveriesPerSec");
        String ratio = maxA instanceof Number x && maxB instanceof Number y && x.longValue() > 0
            ? String.format(Locale.ROOT, "%.2f", y.doubleValue() / x.doubleValue()) : "–";
        JsonObject row = new JsonObject()
            .put("subscribers", n)
            .put("publisher", pub)
            .put("p99LimitMs", limit(single, cluster, n))
            .put("singleMaxDeliveriesPerSec", maxA)
            .put("clusterMaxDeliveriesPerSec", maxB)
            .put("singleAtHalf", brief(a == null ? null : a.getJsonObject("atHalf")))
            .put("clusterAtHalf", brief(b == null ? null : b.getJsonObject("atHalf")))
            .put("singleHighestWithoutLoss", highestWithoutLoss(a))
            .put("clusterHighestWithoutLoss", highestWithoutLoss(b));
        rows.add(row);
        md.append("| ").append(num(n)).append(" | ").append(pubName(pub))
            .append(" | zero loss, p99 < ").append(num(row.getValue("p99LimitMs"))).append(" ms")
            .append(" | ").append(num(maxA)).append(" | ").append(num(maxB)).append(" | ").append(ratio)
            .append(" | ").append(lat(row.getJsonObject("singleAtHalf")))
            .append(" | ").append(lat(row.getJsonObject("clusterAtHalf")))
            .append(" | ").append(num(row.getValue("singleHighestWithoutLoss"))).append(" / ")
            .append(num(row.getValue("clusterHighestWithoutLoss"))).append(" |\n");
      }
    }
    summary.put("table", rows);

    // the same load on both: the --also-at steps
    StringBuilder fixed = new StringBuilder();
    JsonArray fixedRows = new JsonArray();
    for (int n : ns) {
      for (String pub : PUBLISHERS) {
        JsonObject a = sweep(single, n, pub);
        JsonObject b = sweep(cluster, n, pub);
        JsonArray fa = a == null ? new JsonArray() : a.getJsonArray("alsoAt", new JsonArray());
        JsonArray fb = b == null ? new JsonArray() : b.getJsonArray("alsoAt", new JsonArray());
        for (int i = 0; i < Math.max(fa.size(), fb.size()); i++) {
          JsonObject sa = i < fa.size() ? fa.getJsonObject(i) : null;
          JsonObject sb = i < fb.size() ? fb.getJsonObject(i) : null;
          Object rate = (sa != null ? sa : sb).getValue("targetDeliveriesPerSec");
          JsonObject row = new JsonObject().put("subscribers", n).put("publisher", pub).put("deliveriesPerSec", rate)
              .put("single", brief(sa)).put("cluster", brief(sb));
          fixedRows.add(row);
          fixed.append("| ").append(num(n)).append(" | ").append(pubName(pub)).append(" | ").append(num(rate))
              .append(" | ").append(lat(row.getJsonObject("single"))).append(" | ").append(lat(row.getJsonObject("cluster")))
              .append(" | ").append(cpuNs(row.getJsonObject("single"))).append(" | ").append(cpuNs(row.getJsonObject("cluster")))
              .append(" |\n");
        }
      }
    }
    summary.put("sameLoad", fixedRows);
    if (fixed.length() > 0) {
      md.append("\nSame load on both (one fixed-rate step each):\n\n");
      md.append("| N | publisher | deliveries/s | 1 node: p50 / p99 (ms) | 3 nodes: p50 / p99 (ms)"
          + " | 1 node: server CPU per delivery | 3 nodes: server CPU per delivery (all nodes) |\n");
      md.append("|---:|---|---:|---|---|---:|---:|\n");
      md.append(fixed);
    }

    // every rate that both sweeps stepped: latency and CPU side by side, rate by rate
    StringBuilder common = new StringBuilder();
    JsonArray commonRows = new JsonArray();
    for (int n : ns) {
      for (String pub : PUBLISHERS) {
        JsonObject a = sweep(single, n, pub);
        JsonObject b = sweep(cluster, n, pub);
        if (a == null || b == null) {
          continue;
        }
        java.util.TreeMap<Long, JsonObject[]> byRate = new java.util.TreeMap<>();
        for (int side = 0; side < 2; side++) {
          for (Object o : (side == 0 ? a : b).getJsonArray("steps", new JsonArray())) {
            JsonObject st = (JsonObject) o;
            byRate.computeIfAbsent(st.getLong("targetDeliveriesPerSec"), k -> new JsonObject[2]);
            JsonObject[] pair = byRate.get(st.getLong("targetDeliveriesPerSec"));
            if (pair[side] == null) {
              pair[side] = st;
            }
          }
        }
        for (var e : byRate.entrySet()) {
          JsonObject[] pair = e.getValue();
          if (pair[0] == null || pair[1] == null) {
            continue;
          }
          commonRows.add(new JsonObject().put("subscribers", n).put("publisher", pub).put("deliveriesPerSec", e.getKey())
              .put("single", brief(pair[0])).put("cluster", brief(pair[1])));
          common.append("| ").append(num(n)).append(" | ").append(pub).append(" | ").append(num(e.getKey()))
              .append(" | ").append(step(pair[0])).append(" | ").append(step(pair[1])).append(" |\n");
        }
      }
    }
    summary.put("sameRates", commonRows);
    if (common.length() > 0) {
      md.append("\nEvery rate both sweeps stepped (p50 / p99 ms, server CPU, pass or fail):\n\n");
      md.append("| N | publisher | deliveries/s | 1 node | 3 nodes |\n|---:|---|---:|---|---|\n");
      md.append(common);
    }

    md.append("\n| setup | idle servers' CPU | steps | disturbed steps kept | server CPU at max (N, publisher: share of CPU 0) | load average start → end |\n");
    md.append("|---|---:|---:|---:|---|---|\n");
    for (String[] t : new String[][] {{"1 node", "single"}, {"3 nodes", "cluster"}}) {
      JsonObject r = t[1].equals("single") ? single : cluster;
      int[] steps = {0, 0};
      StringBuilder cpu = new StringBuilder();
      for (int n : ns) {
        for (String pub : PUBLISHERS) {
          JsonObject s = sweep(r, n, pub);
          if (s == null) {
            continue;
          }
          count(s.getJsonArray("steps"), steps);
          count(new JsonArray().add(s.getValue("atHalf")), steps);
          count(s.getJsonArray("alsoAt"), steps);
          JsonObject at = s.getJsonObject("atMax");
          if (at != null) {
            cpu.append(cpu.length() > 0 ? "; " : "").append(num(n)).append(" ").append(pub).append(": ")
                .append(pct(at.getValue("serverCpu")));
          }
        }
      }
      Path idleFile = dir.resolve("idle-" + t[1] + ".txt");
      Double idle = Files.exists(idleFile) ? Double.valueOf(Files.readString(idleFile).trim()) : null;
      summary.put(t[1] + "IdleServerCpu", idle);
      md.append("| ").append(t[0]).append(" | ").append(idle == null ? "–" : String.format(Locale.ROOT, "%.1f%%", idle * 100)).append(" | ").append(steps[0]).append(" | ").append(steps[1]).append(" | ")
          .append(cpu.length() == 0 ? "–" : cpu).append(" | ").append(r.getString("loadavgStart")).append(" → ")
          .append(r.getString("loadavgEnd")).append(" |\n");
    }
    summary.put("markdown", md.toString());
    Files.writeString(Path.of(args[1]), summary.encodePrettily());
    System.out.println(md);
    System.out.println("summary: " + args[1]);
  }

  private static JsonObject read(Path f) throws Exception {
    return Files.exists(f) ? new JsonObject(Files.readString(f)) : new JsonObject();
  }

  private static JsonObject sweep(JsonObject r, int n, String pub) {
    JsonObject f = r.getJsonObject("fanout", new JsonObject()).getJsonObject(String.valueOf(n));
    if (f == null) {
      return null;
    }
    Object s = f.getValue(pub);
    return s instanceof JsonObject o && !o.containsKey("error") ? o : null;
  }

  private static Object limit(JsonObject single, JsonObject cluster, int n) {
    for (JsonObject r : new JsonObject[] {single, cluster}) {
      JsonObject f = r.getJsonObject("fanout", new JsonObject()).getJsonObject(String.valueOf(n));
      if (f != null && f.getValue("p99LimitMs") != null) {
        return f.getValue("p99LimitMs");
      }
    }
    return null;
  }

  /**
   * The highest rate among a sweep's steps at which every delivery arrived (no loss, error or
   * order violation), whatever the latency. A lower bound: the sweep stops after two failures in
   * a row, which are usually latency failures, so higher rates may be loss-free too.
   */
  private static Object highestWithoutLoss(JsonObject sweep) {
    if (sweep == null) {
      return null;
    }
    long best = -1;
    for (Object o : sweep.getJsonArray("steps", new JsonArray())) {
      JsonObject s = (JsonObject) o;
      if (s.getLong("loss", 1L) == 0 && s.getLong("errors", 1L) == 0 && s.getLong("orderViolations", 1L) == 0
          && s.getLong("unexpectedCloses", 0L) == 0) {
        best = Math.max(best, s.getLong("targetDeliveriesPerSec"));
      }
    }
    return best < 0 ? null : best;
  }

  /** The figures of one step that the tables use. */
  private static JsonObject brief(JsonObject s) {
    if (s == null) {
      return null;
    }
    JsonObject b = new JsonObject();
    for (String k : new String[] {"targetDeliveriesPerSec", "deliveriesPerSec", "loss", "p50Ms", "p99Ms", "p999Ms",
        "maxMs", "serverCpu", "generatorCpu", "serverCpuNsPerDelivery", "serverCoreForeign", "serverRunqWait",
        "generatorRunqWait", "disturbed", "pass", "loadavg"}) {
      if (s.containsKey(k)) {
        b.put(k, s.getValue(k));
      }
    }
    return b;
  }

  private static void count(JsonArray steps, int[] c) {
    if (steps == null) {
      return;
    }
    for (Object o : steps) {
      if (o instanceof JsonObject s) {
        c[0]++;
        if (s.getBoolean("disturbed", false)) {
          c[1]++;
        }
      }
    }
  }

  private static String pubName(String pub) {
    return pub.equals("wbp") ? "one WBP `KA` connection" : "browser `broadcast`";
  }

  private static String lat(JsonObject s) {
    if (s == null) {
      return "–";
    }
    return s.getValue("p50Ms") + " / " + s.getValue("p99Ms") + " at " + num(s.getValue("targetDeliveriesPerSec"))
        + "/s" + (s.getBoolean("pass", true) ? "" : " (failed)");
  }

  private static String step(JsonObject s) {
    return s.getValue("p50Ms") + " / " + s.getValue("p99Ms") + ", " + pct(s.getValue("serverCpu"))
        + (s.getLong("loss", 0L) > 0 ? ", loss " + num(s.getValue("loss")) : "") + (s.getBoolean("pass", false) ? ", pass" : ", fail");
  }

  private static String cpuNs(JsonObject s) {
    Object v = s == null ? null : s.getValue("serverCpuNsPerDelivery");
    return v instanceof Number x ? String.format(Locale.ROOT, "%.1f µs", x.doubleValue() / 1000) : "–";
  }

  private static String num(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%,d", n.longValue()) : "–";
  }

  private static String pct(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%.0f%%", n.doubleValue() * 100) : "–";
  }
}
