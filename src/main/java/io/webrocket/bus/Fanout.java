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
}
