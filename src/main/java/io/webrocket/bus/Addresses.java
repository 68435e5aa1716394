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
  /**
   * Header on fan-out messages that carry several complete frames of one channel back to back
   * (a backend connection's run of broadcasts, see {@code backend/BroadcastBatch}): how many.
   */
  public static final String FRAMES = "frames";
  /**
   * Header on presence announcements: the channel's sequence number (see {@code
   * io.webrocket.presence.PresenceMembers}); a subscriber gets only those after its own list.
   */
  public static final String SEQ = "seq";
  /** Header on fan-out messages of a channel with history: the event's offset. */
  public static final String OFFSET = "offset";
  /** Header on fan-out messages of a channel with history: the history's epoch. */
  public static final String EPOCH = "epoch";

  private static final String PREFIX = "webrocket.";

  private Addresses() {}

  /** The vhost directory of this node (a local consumer on every node): create, delete, list vhosts. */
  public static String vhosts() {
    return PREFIX + "vhosts";
  }

  /**
   * The registry of one vhost on this node (a local consumer on every node): channels, tokens,
   * single access tokens, workers. Requests to it are sent local-only.
   */
  public static String vhost(String path) {
    return PREFIX + "vhost:" + path;
  }

  /**
   * Tells this node's registry of one vhost to start or stop exporting its channel gauge
   * ({@code {"host": true|false}}; a local consumer): the directory sends it when this node
   * starts or stops doing the one-member jobs, so the cluster counts each channel once.
   */
  public static String gaugeHost(String path) {
    return PREFIX + "gaugeHost:" + path;
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

  /** This node's presence service (a local consumer): joins and leaves of presence channels. */
  public static String presence() {
    return PREFIX + "presence";
  }

  /**
   * Presence announcements ({@code :memberJoined}/{@code :memberLeft} frames with their sequence
   * number), published by the node that made the change to every node's presence service, which
   * puts them in order for its endpoints.
   */
  public static String presenceEvents() {
    return PREFIX + "presenceEvents";
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

  /** This node's view of the cluster: members and leader (a local consumer; none when not clustered). */
  public static String cluster() {
    return PREFIX + "cluster";
  }

  /**
   * Channel changes published by the registry that made them, for the directories of nodes
   * that keep a store file of their own (SQLite in a cluster): each writes them to its file.
   */
  public static String storeMirror() {
    return PREFIX + "storeMirror";
  }

  /** The durable store of this node (a local consumer). */
  public static String store() {
    return PREFIX + "store";
  }
}
