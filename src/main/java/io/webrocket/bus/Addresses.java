package io.webrocket.bus;

/**
 * Every event-bus address the broker uses, built in one place.
 *
 * <p>Requests carry the operation in the {@link #ACTION} header and a JSON body; a failed
 * request is a {@code ReplyException} whose failure code is the protocol status code
 * (see {@link Status}).
 */
public final class Addresses {
  public static final String ACTION = "action";
  /** Header on fan-out messages: the vhost path. */
  public static final String VHOST = "vhost";
  /** Header on fan-out messages: the channel name. */
  public static final String CHANNEL = "channel";
  /** Header on fan-out messages: a connection (sid) that must not receive this frame. */
  public static final String SKIP = "skip";
  /** Header on fan-out messages of a channel with history: the event's offset. */
  public static final String OFFSET = "offset";
  /** Header on fan-out messages of a channel with history: the history's epoch. */
  public static final String EPOCH = "epoch";

  private static final String PREFIX = "webrocket.";

  private Addresses() {}

  /** The vhost directory: create, delete, list vhosts; owns vhost access tokens. */
  public static String vhosts() {
    return PREFIX + "vhosts";
  }

  /** The registry of one vhost: channels, single access tokens, presence, worker lobby. */
  public static String vhost(String path) {
    return PREFIX + "vhost:" + path;
  }

  /** True for the addresses served by the cluster leader: the vhost directory and registries. */
  public static boolean isLeaderHosted(String address) {
    return address.startsWith(PREFIX + "vhost");
  }

  /**
   * One node's view of its vhosts (see {@code io.webrocket.vhost.NodeViews}): the registries
   * make every node forget removed channels and tokens here, and gather subscriber counts.
   */
  public static String node(String nodeId) {
    return PREFIX + "node:" + nodeId;
  }

  /** Worker connections of one vhost each consume here; a trigger is a request to it. */
  public static String workers(String path) {
    return PREFIX + "workers:" + path;
  }

  /** Pre-encoded WWFP frames published to every WebSocket endpoint instance. */
  public static String fanout() {
    return PREFIX + "fanout";
  }

  /** Control announcements (channel closed, vhost deleted) published to the endpoints. */
  public static String events() {
    return PREFIX + "events";
  }

  /** A new, validated configuration (the whole object), published locally on every change. */
  public static String config() {
    return PREFIX + "config";
  }

  /** The TLS section, published locally when its files or paths change: servers reload their certificate. */
  public static String tls() {
    return PREFIX + "tls";
  }

  /**
   * The cluster members that are alive ({@code {"nodes": [id, ...]}}), published locally on the
   * leader whenever membership changes: registries forget subscribers and workers of the others.
   */
  public static String liveNodes() {
    return PREFIX + "liveNodes";
  }

  /** This node's view of the cluster: members and leader (a local consumer; none when not clustered). */
  public static String cluster() {
    return PREFIX + "cluster";
  }

  /** The durable store of this node (a local consumer). */
  public static String store() {
    return PREFIX + "store";
  }
}
