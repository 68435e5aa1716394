package io.webrocket.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Merges the generator's per-target files of one run into one summary JSON and prints the
 * tables (Markdown).
 *
 * <pre>java -cp webrocket-bench.jar io.webrocket.bench.Report RUN_DIR SUMMARY.json [COMMAND]</pre>
 */
public final class Report {
  private static final String[][] TARGETS = {
      {"webrocket", "WebRocket (this run)"},
      {"relay-flush", "Vert.x 5 relay, one flush per message (this run)"},
      {"relay-coalesced", "Vert.x 5 relay, coalesced flush (this run)"},
  };

  private Report() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    JsonObject summary = new JsonObject()
        .put("run", dir.getFileName().toString())
        .put("command", args.length > 2 ? args[2] : null);
    JsonObject targets = new JsonObject();
    for (String[] t : TARGETS) {
      Path f = dir.resolve(t[0] + ".json");
      if (Files.exists(f)) {
        targets.put(t[0], new JsonObject(Files.readString(f)));
      }
    }
    summary.put("targets", targets);
    StringBuilder md = new StringBuilder();
    md.append("| system | fan-out N=1,000: max deliveries/s, zero loss, p99 < 50 ms | N=10,000: max deliveries/s, p99 < 500 ms | memory per idle WebSocket |\n");
    md.append("|---|---:|---:|---:|\n");
    JsonArray rows = new JsonArray();
    for (String[] t : TARGETS) {
      JsonObject r = targets.getJsonObject(t[0]);
      if (r == null) {
        continue;
      }
      String pub = t[0].startsWith("relay") ? "relay" : "browser";
      JsonObject row = new JsonObject()
          .put("system", t[1])
          .put("n1000", max(r, "1000", pub))
          .put("n10000", max(r, "10000", pub))
          .put("bytesPerIdleWebSocket", r.getJsonObject("memory", new JsonObject()).getValue("bytesPerConnectionRss"))
          .put("heapBytesPerIdleWebSocket", r.getJsonObject("memory", new JsonObject()).getValue("bytesPerConnectionHeap"));
      rows.add(row);
      md.append("| ").append(t[1]).append(" | ").append(num(row.getValue("n1000"))).append(" | ")
          .append(num(row.getValue("n10000"))).append(" | ").append(kb(row.getValue("bytesPerIdleWebSocket"))).append(" RSS (")
          .append(kb(row.getValue("heapBytesPerIdleWebSocket"))).append(" heap) |\n");
      if (!t[0].startsWith("relay")) {
        JsonObject wbp = new JsonObject().put("n1000", max(r, "1000", "wbp")).put("n10000", max(r, "10000", "wbp"));
        row.put("wbpPublisher", wbp);
        md.append("| WebRocket, published by one WBP KA connection (this run) | ").append(num(wbp.getValue("n1000")))
            .append(" | ").append(num(wbp.getValue("n10000"))).append(" | |\n");
      }
    }
    summary.put("table", rows);

    md.append("\n| system | publisher | N | max deliveries/s | p99 at max (ms) | half rate | p50 / p99 / p99.9 / max at half (ms), median of 3 | p99 of the 3 half steps (ms) | server CPU at max | generator CPU at max | server run-queue wait at max |\n");
    md.append("|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|\n");
    for (String[] t : TARGETS) {
      JsonObject r = targets.getJsonObject(t[0]);
      if (r == null) {
        continue;
      }
      for (String n : new String[] {"1000", "10000"}) {
        JsonObject f = r.getJsonObject("fanout", new JsonObject()).getJsonObject(n, new JsonObject());
        for (String pub : new String[] {"browser", "wbp", "relay"}) {
          JsonObject s = f.getJsonObject(pub);
          if (s == null) {
            continue;
          }
          JsonObject at = s.getJsonObject("atMax");
          JsonObject half = s.getJsonObject("atHalf");
          md.append("| ").append(t[0]).append(" | ").append(pub).append(" | ").append(num(Integer.parseInt(n)))
              .append(" | ").append(num(s.getValue("maxDeliveriesPerSec")))
              .append(" | ").append(at == null ? "–" : at.getValue("p99Ms"))
              .append(" | ").append(half == null ? "–" : num(half.getValue("targetDeliveriesPerSec")))
              .append(" | ").append(half == null ? "–" : half.getValue("p50Ms") + " / " + half.getValue("p99Ms") + " / "
                  + half.getValue("p999Ms") + " / " + half.getValue("maxMs"))
              .append(" | ").append(halfP99s(s.getJsonArray("halfRuns")))
              .append(" | ").append(at == null ? "–" : pct(at.getValue("serverCpu")))
              .append(" | ").append(at == null ? "–" : pct(at.getValue("generatorCpu")))
              .append(" | ").append(at == null ? "–" : pct(at.getValue("serverRunqWait"))).append(" |\n");
        }
      }
    }

    md.append("\n| system | connect rate (WebSockets/s incl. first message) | KA pipelined BC/s | one-shot BC/s | load average start → end |\n");
    md.append("|---|---:|---:|---:|---|\n");
    for (String[] t : TARGETS) {
      JsonObject r = targets.getJsonObject(t[0]);
      if (r == null) {
        continue;
      }
      JsonObject be = r.getJsonObject("backend", new JsonObject());
      md.append("| ").append(t[0]).append(" | ")
          .append(num(r.getJsonObject("connect", new JsonObject()).getValue("perSecond"))).append(" | ")
          .append(num(be.getJsonObject("ka", new JsonObject()).getValue("requestsPerSec"))).append(" | ")
          .append(num(be.getJsonObject("oneShot", new JsonObject()).getValue("requestsPerSec"))).append(" | ")
          .append(r.getString("loadavgStart")).append(" → ").append(r.getString("loadavgEnd")).append(" |\n");
    }
    JsonObject hist = targets.getJsonObject("webrocket", new JsonObject()).getJsonObject("history");
    if (hist != null) {
      // Issue 15: the same channel without and with a history rule, and the recovery rate.
      md.append("\n| history | publisher | N | without history: max deliveries/s | with history: max deliveries/s"
          + " | without: p99 at half (ms) | with: p99 at half (ms) | without: server CPU at max | with: server CPU at max |\n");
      md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
      for (String n : hist.fieldNames()) {
        if (!n.matches("[0-9]+")) {
          continue;
        }
        JsonObject h = hist.getJsonObject(n);
        for (String pub : new String[] {"browser", "wbp"}) {
          JsonObject a = h.getJsonObject("without", new JsonObject()).getJsonObject(pub);
          JsonObject b = h.getJsonObject("with", new JsonObject()).getJsonObject(pub);
          if (a == null && b == null) {
            continue;
          }
          md.append("| size ").append(num(h.getValue("historySize"))).append(" | ").append(pub).append(" | ")
              .append(num(Integer.parseInt(n))).append(" | ").append(num(a == null ? null : a.getValue("maxDeliveriesPerSec")))
              .append(" | ").append(num(b == null ? null : b.getValue("maxDeliveriesPerSec")))
              .append(" | ").append(field(a, "atHalf", "p99Ms")).append(" | ").append(field(b, "atHalf", "p99Ms"))
              .append(" | ").append(pct(at(a, "atMax", "serverCpu"))).append(" | ").append(pct(at(b, "atMax", "serverCpu")))
              .append(" |\n");
        }
      }
      JsonObject rec = hist.getJsonObject("recovery");
      if (rec != null) {
        md.append("\n| recovery: subscribers × messages | replayed | seconds (first connect → last replay) | replayed/s"
            + " | order violations | errors |\n|---|---:|---:|---:|---:|---:|\n");
        md.append("| ").append(num(rec.getValue("subscribers"))).append(" × ").append(num(rec.getValue("messages")))
            .append(" | ").append(num(rec.getValue("replayed"))).append(" of ").append(num(rec.getValue("expected")))
            .append(" | ").append(rec.getValue("seconds", rec.getValue("error"))).append(" | ")
            .append(num(rec.getValue("replayedPerSecond"))).append(" | ").append(num(rec.getValue("orderViolations")))
            .append(" | ").append(num(rec.getValue("errors"))).append(" |\n");
      }
    }
    summary.put("markdown", md.toString());
    Files.writeString(Path.of(args[1]), summary.encodePrettily());
    System.out.println(md);
    System.out.println("summary: " + args[1]);
  }

  private static Object max(JsonObject r, String n, String pub) {
    JsonObject s = r.getJsonObject("fanout", new JsonObject()).getJsonObject(n, new JsonObject()).getJsonObject(pub);
    return s == null ? null : s.getValue("maxDeliveriesPerSec");
  }

  private static Object at(JsonObject sweep, String step, String key) {
    JsonObject s = sweep == null ? null : sweep.getJsonObject(step);
    return s == null ? null : s.getValue(key);
  }

  private static String field(JsonObject sweep, String step, String key) {
    Object v = at(sweep, step, key);
    return v == null ? "–" : v.toString();
  }

  private static String halfP99s(JsonArray runs) {
    if (runs == null || runs.isEmpty()) {
      return "–";
    }
    StringBuilder b = new StringBuilder();
    runs.forEach(o -> b.append(b.length() == 0 ? "" : ", ").append(((JsonObject) o).getValue("p99Ms")));
    return b.toString();
  }

  private static String num(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%,d", n.longValue()) : "–";
  }

  private static String kb(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%.1f KB", n.doubleValue() / 1024) : "–";
  }

  private static String pct(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%.0f%%", n.doubleValue() * 100) : "–";
  }
}
