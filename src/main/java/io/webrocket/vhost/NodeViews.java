package io.webrocket.vhost;

import io.webrocket.bus.NodeId;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves this node's {@link NodeView}, registries and directory to the other nodes on
 * {@link Addresses#node(String)}: the node that closes a channel or changes a vhost makes every
 * node forget it (view and registry) or re-read it from the {@link VhostGrid} (directory)
 * before it confirms the change, and gathers subscriber counts and workers. Deployed once on
 * every node.
 *
 * <p>The static helpers are the asking side: ask every live node and wait for all.
 */
public final class NodeViews extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(NodeViews.class);
  /** A node that does not answer within this is not waited for (it is dying, or gone). */
  static final long NODE_TIMEOUT_MS = 5_000;

  private MessageConsumer<JsonObject> consumer;

  @Override
  public Future<?> start() {
    NodeView view = new NodeView(vertx);
    String address = Addresses.node(NodeId.of(vertx));
    consumer = vertx.eventBus().consumer(address, msg -> handle(vertx, view, msg));
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return consumer.unregister();
  }

  private static void handle(Vertx vertx, NodeView view, Message<JsonObject> msg) {
    JsonObject b = msg.body();
    String vhost = b.getString("vhost");
    switch (Bus.actionOf(msg)) {
      case "forgetChannel" -> {
        view.forgetChannel(vhost, b.getString("channel"));
        msg.reply(null);
      }
      case "forgetVhost" -> {
        view.forgetVhost(vhost);
        msg.reply(null);
      }
      case "vhostChanged" -> {
        // Created, re-tokened or deleted: this node's directory re-reads it from the grid.
        view.forgetVhost(vhost);
        Bus.requestLocal(vertx, Addresses.vhosts(), VhostDirectory.SYNC,
            new JsonObject().put("path", vhost).put("origin", b.getString("origin")))
            .onComplete(x -> msg.reply(null));
      }
      case "historyChanged" -> Bus.requestLocal(vertx, Addresses.vhosts(), VhostDirectory.SYNC_HISTORY,
              new JsonObject().put("path", vhost).put("origin", b.getString("origin")))
          .onComplete(x -> msg.reply(null));
      case "workers" -> msg.reply(new JsonObject().put("workers", view.workers(vhost)));
      case "counts" -> {
        JsonObject counts = new JsonObject();
        view.counts(vhost).forEach(counts::put);
        msg.reply(counts);
      }
      default -> Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  /** The ids of the nodes alive now (this one alone when not clustered). */
  static List<String> liveNodes(Vertx vertx) {
    var manager = io.webrocket.vertx.VertxInternals.clusterManager(vertx);
    return manager == null ? List.of(NodeId.LOCAL) : manager.getNodes();
  }

  /**
   * Sends {@code action} to every live node and completes when each has answered, or has left
   * the cluster, or did not answer within {@link #NODE_TIMEOUT_MS} (logged: a hung node that is
   * still a member may keep the entry until it is removed). Never fails.
   */
  static Future<List<JsonObject>> tellAll(Vertx vertx, String action, JsonObject body) {
    List<Future<JsonObject>> answers = new ArrayList<>();
    for (String node : liveNodes(vertx)) {
      DeliveryOptions o = new DeliveryOptions().addHeader(Addresses.ACTION, action).setSendTimeout(NODE_TIMEOUT_MS);
      answers.add(vertx.eventBus().<JsonObject>request(Addresses.node(node), body, o)
          .map(m -> m.body())
          .recover(err -> {
            // No consumer: the node is starting or stopping, and holds no view to forget.
            boolean serving = !(err instanceof io.vertx.core.eventbus.ReplyException re
                && re.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS);
            if (serving && liveNodes(vertx).contains(node)) {
              LOG.warn("node {} did not answer {}: {}", node, action, err.getMessage());
            }
            return Future.succeededFuture(null);
          }));
    }
    return Future.join(answers).map(x -> answers.stream().map(Future::result).toList());
  }

  /** Every live node has forgotten {@code channel} of {@code vhost}. */
  static Future<Void> forgetChannel(Vertx vertx, String vhost, String channel) {
    return tellAll(vertx, "forgetChannel", new JsonObject().put("vhost", vhost).put("channel", channel)).mapEmpty();
  }

  /**
   * Every live node's directory has re-read the vhost from the grid (deployed, re-tokened or
   * undeployed its registry) and its view has forgotten what it knew of it.
   */
  static Future<Void> vhostChanged(Vertx vertx, String vhost) {
    return tellAll(vertx, "vhostChanged", new JsonObject().put("vhost", vhost).put("origin", NodeId.of(vertx)))
        .mapEmpty();
  }

  /** Every live node's histories use the vhost's admin history rules as the grid has them now. */
  static Future<Void> historyChanged(Vertx vertx, String vhost) {
    return tellAll(vertx, "historyChanged", new JsonObject().put("vhost", vhost).put("origin", NodeId.of(vertx)))
        .mapEmpty();
  }

  static Future<Void> forgetVhost(Vertx vertx, String vhost) {
    return tellAll(vertx, "forgetVhost", new JsonObject().put("vhost", vhost)).mapEmpty();
  }

  /** The workers of the vhost connected to any live node, each node's in the order they joined. */
  static Future<List<String>> workers(Vertx vertx, String vhost) {
    return tellAll(vertx, "workers", new JsonObject().put("vhost", vhost)).map(answers -> {
      List<io.vertx.core.json.JsonArray> all = new ArrayList<>();
      for (JsonObject a : answers) {
        if (a != null) {
          a.getJsonArray("workers").forEach(w -> all.add((io.vertx.core.json.JsonArray) w));
        }
      }
      return all.stream().map(w -> w.getString(1)).toList();
    });
  }

  /** Subscriber counts of the vhost's channels, summed over the live nodes. */
  static Future<Map<String, Integer>> counts(Vertx vertx, String vhost) {
    return tellAll(vertx, "counts", new JsonObject().put("vhost", vhost)).map(answers -> {
      Map<String, Integer> sum = new HashMap<>();
      for (JsonObject a : answers) {
        if (a != null) {
          a.forEach(e -> sum.merge(e.getKey(), ((Number) e.getValue()).intValue(), Integer::sum));
        }
      }
      return sum;
    });
  }
}
