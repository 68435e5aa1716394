package io.webrocket.bench;

import static io.webrocket.bench.Generator.log;
import static io.webrocket.bench.Generator.sleep;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bench.Generator.Opened;

/** Phase "memory": the server's RSS and heap per idle WebSocket (forced GC before and after). */
final class MemoryPhase {
  private final Generator g;

  MemoryPhase(Generator g) {
    this.g = g;
  }

  JsonObject memory(int count) throws Exception {
    log("memory: %d idle WebSockets", count);
    Net.jcmd(g.serverPid, "GC.run");
    sleep(1000);
    long rss0 = Net.rssKb(g.serverPid);
    long heap0 = Net.heapUsedKb(g.serverPid);
    Opened o = g.open(count, 1000, false, 180_000);
    sleep(1000);
    Net.jcmd(g.serverPid, "GC.run");
    sleep(1000);
    long rss1 = Net.rssKb(g.serverPid);
    long heap1 = Net.heapUsedKb(g.serverPid);
    int n = o.conns().size();
    // where the heap goes: the top of the class histogram with the connections open
    JsonArray top = new JsonArray();
    String[] lines = Net.jcmd(g.serverPid, "GC.class_histogram").split("\n");
    for (int i = 0; i < lines.length && top.size() < 20; i++) {
      if (lines[i].trim().matches("\\d+: +\\d+ +\\d+ .*")) { // "rank: instances bytes class"
        top.add(lines[i].trim().replaceAll("\\s+", " "));
      }
    }
    JsonObject r = new JsonObject()
        .put("connections", n)
        .put("failed", o.failed())
        .put("openSeconds", Math.round(o.seconds() * 100) / 100.0)
        .put("rssBeforeKb", rss0)
        .put("rssAfterKb", rss1)
        .put("heapUsedBeforeKb", heap0)
        .put("heapUsedAfterKb", heap1)
        .put("bytesPerConnectionRss", n == 0 ? null : (rss1 - rss0) * 1024 / n)
        .put("bytesPerConnectionHeap", n == 0 || heap0 < 0 ? null : (heap1 - heap0) * 1024 / n)
        .put("classHistogramTop", top);
    log("  %d open (%d failed) in %.1f s; RSS %d -> %d KiB = %s B/conn; heap %d -> %d KiB = %s B/conn",
        n, o.failed(), o.seconds(), rss0, rss1, r.getValue("bytesPerConnectionRss"), heap0, heap1,
        r.getValue("bytesPerConnectionHeap"));
    g.closeAll(o.conns());
    sleep(2000);
    return r;
  }
}
