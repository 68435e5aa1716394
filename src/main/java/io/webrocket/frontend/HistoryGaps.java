package io.webrocket.frontend;

import io.webrocket.history.OffsetFrames;
import io.webrocket.protocol.Frame;
import java.util.HashMap;
import java.util.Map;

/**
 * The gap notices one socket is owed: per channel it is subscribed to, the first offset (and
 * epoch) of the events it lost. At most one entry per subscribed channel, so bounded by
 * {@code limits.subscriptionsPerConnection}; made when first needed.
 */
final class HistoryGaps {
  private record Gap(long offset, String epoch) {}

  private final BrowserConnection conn;
  private Map<String, Gap> gaps;

  HistoryGaps(BrowserConnection conn) {
    this.conn = conn;
  }

  /** Lost events of {@code channel} from {@code offset} on; an earlier loss not yet told stays first. */
  void missed(String channel, long offset, String epoch) {
    if (!conn.channels.contains(channel)) {
      return;
    }
    if (gaps == null) {
      gaps = new HashMap<>();
    }
    gaps.putIfAbsent(channel, new Gap(offset, epoch));
  }

  /** The notice owed for {@code channel}, or null; it is then no longer owed. */
  Frame take(String channel) {
    Gap g = gaps == null ? null : gaps.remove(channel);
    return g == null ? null : OffsetFrames.gap(channel, g.offset, g.epoch);
  }

  void clear(String channel) {
    if (gaps != null) {
      gaps.remove(channel);
    }
  }
}
