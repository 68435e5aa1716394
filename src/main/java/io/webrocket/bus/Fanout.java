package io.webrocket.bus;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.webrocket.protocol.Frame;

/** Publishing an encoded frame to a channel's subscribers on every node, in one place. */
public final class Fanout {
  private Fanout() {}

  /** Every WebSocket endpoint instance of every node gets {@code frame}; {@code skipSid} (or null) does not. */
  public static void publish(Vertx vertx, String vhost, String channel, Frame frame, String skipSid) {
    DeliveryOptions o = new DeliveryOptions().addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel);
    if (skipSid != null) {
      o.addHeader(Addresses.SKIP, skipSid);
    }
    vertx.eventBus().publish(Addresses.fanout(), frame, o);
  }

  /**
   * Like {@link #publish} for {@code count} complete frames of one channel back to back in
   * {@code frames} (one event-bus message for a run of a backend connection's broadcasts):
   * subscribers get them in that order, and the meters count {@code count} messages.
   */
  public static void publishRun(Vertx vertx, String vhost, String channel, Frame frames, int count) {
    DeliveryOptions o = new DeliveryOptions().addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel);
    if (count > 1) {
      o.addHeader(Addresses.FRAMES, Integer.toString(count));
    }
    vertx.eventBus().publish(Addresses.fanout(), frames, o);
  }

  /**
   * Like {@link #publish}, for an event of a channel with history: the headers carry its offset
   * and the history's epoch, so that every endpoint delivers the channel's events in offset order.
   */
  public static void publishAt(Vertx vertx, String vhost, String channel, Frame frame, long offset, String epoch) {
    DeliveryOptions o = new DeliveryOptions().addHeader(Addresses.VHOST, vhost).addHeader(Addresses.CHANNEL, channel)
        .addHeader(Addresses.OFFSET, Long.toString(offset)).addHeader(Addresses.EPOCH, epoch);
    vertx.eventBus().publish(Addresses.fanout(), frame, o);
  }
}
