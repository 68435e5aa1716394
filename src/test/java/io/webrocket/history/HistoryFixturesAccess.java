package io.webrocket.history;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.RawWs;

/** {@link HistoryFixtures} for the tests of other packages (the cluster's). */
public final class HistoryFixturesAccess {
  private HistoryFixturesAccess() {}

  public static JsonObject config() {
    return HistoryFixtures.config();
  }

  public static RawWs connect(int port, String vhost) {
    return HistoryFixtures.connect(port, vhost);
  }

  public static JsonObject subscribe(RawWs ws, JsonObject subscribe) {
    return HistoryFixtures.subscribe(ws, subscribe);
  }

  /** {@link HistoryFixtures#readInOrder}. */
  public static long readInOrder(RawWs ws, long lastOffset, java.util.List<Integer> seen,
      java.util.function.BooleanSupplier more) {
    return HistoryFixtures.readInOrder(ws, lastOffset, seen, more);
  }

  /** A publisher of {@code {"n": i, "from": tag}} on vhost /h; close it when done. */
  public static Publisher publisher(int port, String token, String channel, int count, int perSecond, String tag) {
    return new Publisher(new HistoryFixtures.Publisher(port, "/h", token, channel, count, perSecond, tag));
  }

  public static final class Publisher implements AutoCloseable {
    private final HistoryFixtures.Publisher p;

    Publisher(HistoryFixtures.Publisher p) {
      this.p = p;
    }

    public void await(long ms) throws InterruptedException {
      p.await(ms);
    }

    @Override
    public void close() {
      p.close();
    }
  }
}
