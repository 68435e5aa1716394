package io.webrocket.hardening;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this JVM (test clients and node together) holds: used heap after a full GC, Netty's
 * direct memory (where frames written to sockets live), and the process's resident set.
 */
record Memory(long heap, long pooled, long unpooled, long rss) {
  static Memory now() {
    return new Memory(Served.usedHeapAfterGc(),
        io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory(),
        Math.max(0, io.netty.util.internal.PlatformDependent.usedDirectMemory()), residentSetSize());
  }

  /** VmRSS in bytes, or -1. */
  static long residentSetSize() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /**
   * Growth from {@code before}, in MB, for the test's output and docs/reliability.md: heap, the
   * pooled allocator's chunks (sockets' buffers; taken in 4 MB chunks and kept), unpooled direct
   * buffers (pre-encoded frames), RSS.
   */
  String since(Memory before) {
    return String.format("heap after GC %+.1f MB, pooled direct %+.1f MB, unpooled direct %+.1f MB, RSS %+.1f MB",
        (heap - before.heap) / 1048576.0, (pooled - before.pooled) / 1048576.0,
        (unpooled - before.unpooled) / 1048576.0, (rss - before.rss) / 1048576.0);
  }

  /**
   * Heap and unpooled direct growth added up, in bytes. The pooled allocator keeps the chunks it
   * took and RSS what the JVM took, so both are reported, not asserted.
   */
  long heldSince(Memory before) {
    return (heap - before.heap) + (unpooled - before.unpooled);
  }
}
