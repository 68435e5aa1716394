package io.webrocket.bench;

import static io.webrocket.bench.Generator.log;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The load generator. One run measures one target (WebRocket, or a relay variant) and writes a
 * JSON file; {@code bench/run.sh} starts the targets and {@link Report} merges the files.
 *
 * <pre>
 * java -jar webrocket-bench.jar --target webrocket|relay-flush|relay-coalesced --ws-port P
 *   [--backend-port B --admin-port A --cookie C] --server-pid PID --profile quick|full --out FILE
 *   [--ws-ports P0,P1,P2 --server-pid PID0,PID1,PID2] [--server-cpu C]
 *   [--phases LIST] [--ladder D1,D2,...] [--fixed] [--also-at D1,D2] [--no-wbp]
 * </pre>
 *
 * With {@code --ws-ports} (the nodes of a cluster) subscribers are spread round-robin over the
 * ports, while the publishers stay on the first one (the browser publisher is a subscriber on
 * the first port; the WBP publisher uses {@code --backend-port}, the first node's); CPU and
 * run-queue figures are then summed over the {@code --server-pid} list. With
 * {@code --server-cpu C} (the core the servers are pinned to) a step counts as disturbed when
 * other processes took more than 10 % of that core, instead of by the servers' run-queue wait
 * (which, with several servers on one core, is mostly the servers waiting for each other).
 *
 * <p>Each phase is its own class: {@link MemoryPhase}, {@link ConnectPhase}, {@link FanoutPhase}
 * (with {@link RateStep}), {@link BackendPhase}; what they share is {@link Generator}'s. Every
 * phase is bounded in count and in time.
 */
public final class Bench {
  static final String VHOST = "/bench";
  static final String CHANNEL = "bench";
  /** Pads so a delivered frame's payload is about 100 bytes in every mode. */
  static final int PAD_BROWSER = 4;
  static final int PAD_WBP = 46;
  static final int PAD_RELAY = 54;

  private Bench() {}

  public static void main(String[] argv) throws Exception {
    // --name value, or a bare --flag (--fixed, --no-wbp): one followed by another option or by nothing.
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      boolean bare = i + 1 == argv.length || argv[i + 1].startsWith("--");
      a.put(argv[i].replaceFirst("^--", ""), bare ? "true" : argv[++i]);
    }
    Generator g = new Generator(a);
    JsonObject out;
    try {
      out = run(g);
    } finally {
      g.net.close();
    }
    Path file = Path.of(a.getOrDefault("out", "bench-" + g.target + ".json"));
    Files.writeString(file, out.encodePrettily());
    System.out.println("wrote " + file);
  }

  private static JsonObject run(Generator g) throws Exception {
    Map<String, String> args = g.args;
    int[] wsPorts = g.wsPorts;
    JsonObject out = new JsonObject()
        .put("target", g.target)
        .put("profile", g.full ? "full" : "quick")
        .put("date", Instant.now().toString())
        .put("generatorTransport", g.net.transport())
        .put("loadavgStart", Net.loadAvg())
        .put("serverPid", g.serverPid)
        .put("serverThreads", Net.threads(g.firstPid))
        .put("serverGc", Net.gc(g.firstPid));
    if (wsPorts.length > 1) {
      out.put("wsPorts", new JsonArray(java.util.Arrays.stream(wsPorts).boxed().toList()));
    }
    if (g.serverCpu >= 0) {
      out.put("serverCpuCore", g.serverCpu);
    }
    log("target %s, profile %s, generator transport %s, load average %s", g.target, g.full ? "full" : "quick",
        g.net.transport(), Net.loadAvg());
    if (!g.relay) {
      g.setup();
    }
    // --phases: a comma-separated subset of memory,connect,fanout1000,fanout10000,backend,historyN,recovery (default
    // all); any fanoutN (N subscribers) may be listed, with the p99 limit N/20 ms (at least 50 ms)
    // unless --p99-limit-ms sets one for all
    List<String> phases = List.of(args.getOrDefault("phases", "memory,connect,fanout1000,fanout10000,backend").split(","));
    if (phases.contains("memory")) {
      out.put("memory", wsPorts.length > 1
          ? new JsonObject().put("error", "not measured with several --ws-ports (one server process per port)")
          : new MemoryPhase(g).memory(Integer.parseInt(args.getOrDefault("idle", "19000"))));
    }
    if (phases.contains("connect")) {
      out.put("connect", new ConnectPhase(g).connectRate(Integer.parseInt(args.getOrDefault("connect", "5000")), 256));
    }
    JsonObject fanout = new JsonObject();
    FanoutPhase fanoutPhase = new FanoutPhase(g);
    for (String ph : phases) {
      if (ph.matches("fanout[1-9][0-9]*")) {
        int n = Integer.parseInt(ph.substring(6));
        double limit = args.containsKey("p99-limit-ms") ? Double.parseDouble(args.get("p99-limit-ms")) : Math.max(50, n / 20);
        fanout.put(String.valueOf(n), fanoutPhase.fanout(n, limit));
      }
    }
    out.put("fanout", fanout);
    // historyN (N subscribers, without and with a history on the channel) and recovery (--recovery-
    // subscribers, default 1,000, each replaying --recovery-messages, default 1,000): WebRocket only
    if (!g.relay) {
      HistoryPhase history = new HistoryPhase(g);
      JsonObject hist = new JsonObject();
      for (String ph : phases) {
        if (ph.matches("history[1-9][0-9]*")) {
          int n = Integer.parseInt(ph.substring(7));
          double limit = args.containsKey("p99-limit-ms") ? Double.parseDouble(args.get("p99-limit-ms")) : Math.max(50, n / 20);
          hist.put(String.valueOf(n), history.fanout(n, limit));
        }
      }
      if (phases.contains("recovery")) {
        hist.put("recovery", history.recovery(Integer.parseInt(args.getOrDefault("recovery-subscribers", "1000")),
            Integer.parseInt(args.getOrDefault("recovery-messages", "1000"))));
      }
      if (!hist.isEmpty()) {
        out.put("history", hist);
      }
    }
    if (!g.relay && phases.contains("backend")) {
      out.put("backend", new BackendPhase(g).backend());
    }
    out.put("loadavgEnd", Net.loadAvg());
    return out;
  }
}
