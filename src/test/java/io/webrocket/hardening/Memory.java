package io.webrocket.hardening;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this JVM (test clients and node together) holds: used heap after a full GC, Netty's
 * direct memory (where frames written to sockets live), and the process's resident set.
 */
record Memory(long heap, long direct, long rss) {
  static Memory now() {
    return new Memory(Served.usedHeapAfterGc(), nettyDirect(), residentSetSize());
  }

  /**
   * Netty's direct memory: what its pooled allocator has taken from the OS (sockets' read and
   * write buffers, in chunks) plus unpooled direct buffers (pre-encoded frames), where counted.
   */
  static long nettyDirect() {
    long pooled = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    long unpooled = io.netty.util.internal.PlatformDependent.usedDirectMemory();
    return pooled + Math.max(0, unpooled);
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

  /** Growth from {@code before}: heap, direct, RSS in MB, for the test's output and docs/reliability.md. */
  String since(Memory before) {
    return String.format("heap after GC %+.1f MB, Netty direct %+.1f MB, RSS %+.1f MB",
        (heap - before.heap) / 1048576.0, (direct - before.direct) / 1048576.0, (rss - before.rss) / 1048576.0);
  }

  /** Heap and direct memory growth added up, in bytes (RSS is reported, not asserted: the JVM keeps what it took). */
  long heldSince(Memory before) {
    return (heap - before.heap) + Math.max(0, direct - before.direct);
  }
}
