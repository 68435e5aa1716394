package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.config.RegistrySettings;
import io.webrocket.config.Settings;
import io.webrocket.config.VhostSettings;
import io.webrocket.bus.NodeId;
import io.webrocket.protocol.Status;
import io.webrocket.store.Store;
import io.webrocket.store.Store.VhostRecord;
import io.webrocket.store.StoreClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's vhosts: one {@link VhostRegistry} deployed per vhost of the {@link VhostGrid}, and
 * the vhost operations of the admin API received by this node (a local consumer on {@link
 * Addresses#vhosts()}). Runs on every node.
 *
 * <p>A create, delete or re-token is decided in the grid (atomically), made durable in this
 * node's store, and then every live node's directory syncs the vhost from the grid ({@link
 * NodeViews#vhostChanged}) before the reply: the change is in effect on every node when the
 * operator hears back. A node that starts reads every vhost from the grid, and one that missed
 * a round (it did not answer in time) looks a vhost it does not know up in the grid when asked
 * for it ({@link RegistryClient}, {@code get}).
 *
 * <p>The jobs that need exactly one member ({@link #LEAD}: sent by {@code
 * io.webrocket.cluster.Leadership} on the oldest member, or at start on a node that is not
 * clustered) run here too: exporting the channel gauges, copying the durable store into the
 * grid once when the cluster forms, and creating the vhosts and channels the configuration
 * declares. No browser or backend request waits for them.
 */
public final class VhostDirectory extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(VhostDirectory.class);
  /** Action: this node starts ({@code {"lead": true}}) or stops doing the one-member jobs. */
  public static final String LEAD = "lead";
  /** Action (from {@link NodeViews}): re-read one vhost from the grid. */
  static final String SYNC = "sync";
  /** Action (from {@link NodeViews}): re-read one vhost's admin history rules from the grid. */
  static final String SYNC_HISTORY = "syncHistory";

  private record Vhost(String token, String deployment) {}

  /** Declared vhosts and what new registries get; replaced on reload (see {@link #apply(Settings)}). */
  private Map<String, VhostSettings> declared;
  private RegistrySettings registrySettings;
  /** The bounds admin history rules are checked against (the file's {@code history} section). */
  private io.webrocket.history.HistorySettings historyBounds;
  private final VhostGrid grid;
  /** True when each node has a store of its own (SQLite): it then mirrors what other nodes change. */
  private final boolean ownStore;
  private final boolean alone;
  private final String metricsRegistry;
  private final Map<String, Vhost> vhosts = new TreeMap<>();
  /** Paths being created or deleted on this node: a second request for one of them fails at once. */
  private final java.util.Set<String> busy = new java.util.HashSet<>();
  /** Per path: the last sync, so that syncs of one vhost apply in order. */
  private final Map<String, Future<?>> syncing = new java.util.HashMap<>();
  /** Per vhost: the copy of another node's channel change in progress (see {@link #mirrorChannel}). */
  private final Map<String, Future<?>> mirroring = new java.util.HashMap<>();
  private boolean leading;
  private Store store;
  private MessageConsumer<JsonObject> consumer;

  /**
   * @param settings the declared vhosts and channels that must exist, and what registries apply
   * @param alone a node that is not clustered: it does the one-member jobs itself from the start
   */
  public VhostDirectory(Settings settings, VhostGrid grid, boolean ownStore, boolean alone,
      String metricsRegistry) {
    this.grid = grid;
    this.ownStore = ownStore;
    this.alone = alone;
    this.metricsRegistry = metricsRegistry;
    apply(settings);
  }

  /**
   * At start and on every reload: the declarations to create, and the token lifetime and channel
   * limit that registries deployed from now on start with (running ones apply reloads themselves).
   */
  private void apply(Settings settings) {
    declared = settings.vhosts();
    registrySettings = settings.registry();
    historyBounds = settings.history();
  }

  @Override
  public Future<?> start() {
    store = new StoreClient(vertx);
    vertx.sharedData().getLocalMap(VhostRegistry.GAUGE_HOST).remove(VhostRegistry.GAUGE_HOST);
    // Registered before the grid is read: a vhost created meanwhile is synced, not missed.
    consumer = vertx.eventBus().localConsumer(Addresses.vhosts(), this::handle);
    // Live configuration: newly declared vhosts and channels are created (by the one member
    // that does it); nothing is ever deleted because a declaration disappeared.
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
      apply(Settings.parse(m.body()));
      if (leading) {
        applyDeclared().onFailure(err -> LOG.error("declared vhosts: {}", err.getMessage()));
      }
    });
    if (ownStore && !alone) {
      vertx.eventBus().<JsonObject>consumer(Addresses.storeMirror(), m -> mirrorChannel(m.body()));
    }
    return consumer.completion()
        .compose(x -> grid.vhosts())
        .compose(all -> Future.all(all.keySet().stream().map(this::sync).toList()))
        .compose(x -> alone ? lead(true) : Future.succeededFuture());
  }

  /** This node's registry of {@code path} as the grid has it now: deployed, re-tokened or undeployed. */
  private Future<Void> sync(String path) {
    Future<?> before = syncing.getOrDefault(path, Future.succeededFuture());
    Future<Void> f = before.transform(x -> grid.token(path).compose(token -> apply(path, token)))
        .compose(x -> syncHistory(path).<Void>mapEmpty());
    syncing.put(path, f);
    f.onComplete(x -> syncing.remove(path, f));
    return f;
  }

  /**
   * This node's histories take the vhost's admin history rules as the grid has them now (none
   * for a vhost that is gone): in effect for the next broadcast on this node.
   */
  private Future<String> syncHistory(String path) {
    return grid.historyRules(path).compose(rules -> vhosts.containsKey(path) || rules == null
        ? Future.succeededFuture(rules) : grid.token(path).map(t -> t == null ? null : rules))
        .onSuccess(rules -> io.webrocket.history.Histories.override(vertx, path, rules));
  }

  private Future<Void> apply(String path, String token) {
    Vhost v = vhosts.get(path);
    if (token == null) {
      if (v == null) {
        return Future.succeededFuture();
      }
      vhosts.remove(path);
      return vertx.undeploy(v.deployment());
    }
    if (v == null) {
      return vertx.deployVerticle(new VhostRegistry(path, token, grid, ownStore && !alone,
              registrySettings, metricsRegistry))
          .map(id -> {
            vhosts.put(path, new Vhost(token, id));
            return null;
          });
    }
    if (Secrets.same(v.token(), token)) {
      return Future.succeededFuture();
    }
    vhosts.put(path, new Vhost(token, v.deployment()));
    return new RegistryClient(vertx, path).setToken(token);
  }

  /**
   * Starts or stops the one-member jobs. Starting: this node's registries export the channel
   * gauges, then (only when the cluster has no copy yet) the durable store is copied into the
   * grid, then the declared vhosts and channels are created.
   */
  private Future<Void> lead(boolean lead) {
    leading = lead;
    if (lead) {
      vertx.sharedData().getLocalMap(VhostRegistry.GAUGE_HOST).put(VhostRegistry.GAUGE_HOST, Boolean.TRUE);
    } else {
      vertx.sharedData().getLocalMap(VhostRegistry.GAUGE_HOST).remove(VhostRegistry.GAUGE_HOST);
    }
    List<Future<?>> hosts = new ArrayList<>();
    for (String path : vhosts.keySet()) {
      hosts.add(vertx.eventBus().request(Addresses.gaugeHost(path), new JsonObject().put("host", lead),
          new DeliveryOptions().setLocalOnly(true)).recover(err -> Future.succeededFuture()));
    }
    Future<Void> hosted = Future.all(hosts).mapEmpty();
    if (!lead) {
      return hosted;
    }
    return hosted.compose(x -> grid.loaded()).compose(loaded -> loaded ? Future.succeededFuture() : load())
        .compose(x -> applyDeclared());
  }

  /**
   * Copies the durable store into the grid: at a full start of the cluster (or of a node that
   * is not clustered). Every write is a put-if-absent, so a second member doing it (the first
   * died half-way) changes nothing that is there.
   */
  private Future<Void> load() {
    return io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx).compose(tokens -> store.historyRules()
        .compose(rules -> store.loadAll()
        .compose(all -> Future.all(all.stream().map(r -> loadOne(r, tokens, rules.get(r.path()))).toList()))))
        .compose(x -> grid.markLoaded())
        .onSuccess(x -> LOG.info("vhosts loaded from the durable store"));
  }

  private Future<Void> loadOne(VhostRecord r, AccessTokenGrid tokens, String historyRules) {
    long now = System.currentTimeMillis();
    return grid.createVhost(r.path(), r.token())
        .compose(x -> {
          List<Future<?>> writes = new ArrayList<>();
          if (historyRules != null) {
            writes.add(grid.setHistoryRules(r.path(), historyRules));
          }
          r.channels().forEach(c -> writes.add(grid.openChannel(r.path(), c)));
          r.accessTokens().stream().filter(t -> t.expiresAt() > now).forEach(t -> writes.add(tokens.put(r.path(), t)));
          return Future.all(writes);
        })
        .compose(x -> NodeViews.vhostChanged(vertx, r.path()));
  }

  /** Declared vhosts are created once (keeping their token on later starts); declared channels opened. */
  private Future<Void> applyDeclared() {
    Future<Void> chain = Future.succeededFuture();
    for (var entry : declared.entrySet()) {
      String path = entry.getKey();
      List<String> channels = entry.getValue().channels();
      chain = chain.compose(v -> {
        Future<Void> created = Future.succeededFuture();
        if (!vhosts.containsKey(path)) {
          created = create(path).<Void>map(token -> {
            // Printed for the operator, never logged: logs must not hold secrets.
            io.webrocket.log.SecretOutput.println("declared vhost " + path + " created; access token " + token,
                "declared vhost " + path + " created; its access token: admin show_vhost " + path);
            return null;
          }).recover(err -> Bus.statusOf(err, Status.INTERNAL_ERROR) == Status.BAD_REQUEST
              ? Future.succeededFuture() // created by another node meanwhile
              : Future.failedFuture(err));
        }
        return created.compose(x -> openDeclaredChannels(path, channels));
      });
    }
    return chain;
  }

  private Future<Void> openDeclaredChannels(String path, List<String> channels) {
    List<Future<?>> opened = new ArrayList<>();
    for (Object c : channels) {
      opened.add(new RegistryClient(vertx, path).openChannel(null, (String) c, Registry.IfOpen.SUCCEED));
    }
    return Future.all(opened).mapEmpty();
  }

  private void handle(Message<JsonObject> msg) {
    JsonObject b = msg.body() == null ? new JsonObject() : msg.body();
    String path = b.getString("path");
    switch (Bus.actionOf(msg)) {
      case "list" -> {
        JsonArray list = new JsonArray();
        vhosts.forEach((p, v) -> list.add(new JsonObject().put("path", p).put("accessToken", v.token())));
        msg.reply(new JsonObject().put("vhosts", list));
      }
      case "get" -> {
        // Unknown here: looked up in the grid in case this node missed the round that made it.
        Future<Void> known = vhosts.containsKey(path) || !Names.isValidVhost(path) ? Future.succeededFuture() : sync(path);
        known.onComplete(x -> {
          Vhost v = vhosts.get(path);
          if (v == null) {
            Bus.fail(msg, Status.NOT_FOUND);
          } else {
            msg.reply(new JsonObject().put("path", path).put("accessToken", v.token()));
          }
        });
      }
      case "create" -> {
        if (!Names.isValidVhost(path) || vhosts.containsKey(path) || busy.contains(path)) {
          Bus.fail(msg, Status.BAD_REQUEST);
        } else {
          reply(msg, create(path).map(token -> new JsonObject().put("path", path).put("accessToken", token)));
        }
      }
      case "delete" -> {
        if (!vhosts.containsKey(path) || busy.contains(path)) {
          Bus.fail(msg, Status.NOT_FOUND);
        } else {
          reply(msg, delete(path));
        }
      }
      case "clear" -> reply(msg, Future.all(new ArrayList<>(vhosts.keySet()).stream()
          .filter(p -> !busy.contains(p)).map(this::delete).toList()).mapEmpty());
      case "regenerateToken" -> {
        Vhost v = vhosts.get(path);
        if (v == null || busy.contains(path)) {
          Bus.fail(msg, Status.NOT_FOUND);
        } else {
          reply(msg, regenerate(path, v).map(token -> new JsonObject().put("path", path).put("accessToken", token)));
        }
      }
      case SYNC -> {
        String origin = b.getString("origin");
        if (!Names.isValidVhost(path)) {
          msg.reply(null);
        } else {
          reply(msg, sync(path).compose(x -> mirror(path, origin)));
        }
      }
      case SYNC_HISTORY -> {
        String origin = b.getString("origin");
        if (!Names.isValidVhost(path)) {
          msg.reply(null);
        } else {
          reply(msg, syncHistory(path).compose(rules -> ownStore && origin != null && !origin.equals(NodeId.of(vertx))
              && vhosts.containsKey(path) ? store.putHistoryRules(path, rules) : Future.succeededFuture()));
        }
      }
      case "historyRules" -> {
        if (!vhosts.containsKey(path)) {
          Bus.fail(msg, Status.NOT_FOUND);
        } else {
          reply(msg, grid.historyRules(path).map(rules -> new JsonObject().put("path", path).put("rules", rules)));
        }
      }
      case "setHistoryRules" -> setHistoryRules(msg, path, b.getValue("rules"));
      case LEAD -> reply(msg, lead(b.getBoolean("lead")));
      default -> Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  /**
   * Sets ({@code rules} a JSON object of patterns) or removes ({@code rules} null) the vhost's
   * history rules given through the admin API, checked as the file's are: in the grid, then
   * durable, then every live node's histories use them before the reply. A bad rule is refused
   * (400, the reason in the failure's message) and changes nothing.
   */
  private void setHistoryRules(Message<JsonObject> msg, String path, Object rules) {
    if (!vhosts.containsKey(path) || busy.contains(path)) {
      Bus.fail(msg, Status.NOT_FOUND);
      return;
    }
    String json = null;
    if (rules != null) {
      io.webrocket.history.HistorySettings h = historyBounds;
      try {
        if (!(rules instanceof JsonObject o)) {
          throw new Settings.InvalidException("history", "must be an object of channel patterns");
        }
        if (o.size() > h.maxRulesPerVhost()) {
          io.webrocket.metrics.Metrics.of(metricsRegistry).historyRulesRefused("rules").increment();
          throw new Settings.InvalidException("history", "at most " + h.maxRulesPerVhost() + " patterns (history.maxRulesPerVhost)");
        }
        io.webrocket.history.HistorySettings.rules("history", o, h.maxSize(), h.maxLifetimeMs(), h.maxBytesPerChannel());
        json = o.encode();
      } catch (Settings.InvalidException e) {
        msg.fail(Status.BAD_REQUEST.code, e.getMessage());
        return;
      }
    }
    String value = json;
    reply(msg, grid.setHistoryRules(path, value)
        .compose(x -> store.putHistoryRules(path, value))
        .compose(x -> NodeViews.historyChanged(vertx, path))
        .compose(x -> grid.historyRules(path))
        .map(now -> new JsonObject().put("path", path).put("rules", now)));
  }

  /**
   * With a store of its own per node, every node writes a vhost change another node made to
   * its own file too, so that a full restart from any node's file finds it.
   */
  private Future<Void> mirror(String path, String origin) {
    if (!ownStore || origin == null || origin.equals(NodeId.of(vertx))) {
      return Future.succeededFuture();
    }
    Vhost v = vhosts.get(path);
    return (v == null ? store.deleteVhost(path) : store.putVhost(path, v.token())).mapEmpty();
  }

  /** Another node's channel change, written to this node's own store file. */
  /**
   * Another node changed a channel: this node's store file takes the channel as the grid has it
   * now, not the change as it came. Changes made through different nodes reach this one over
   * different connections, in either order: an open through one node and its close through
   * another, copied close first, left the closed channel in this file, and a full restart brought
   * it back (FullRestartCases in a CI run). The copies of one vhost's changes run one at a time,
   * each reading the grid after its change was made there, so the last leaves the file as the
   * grid is.
   */
  private void mirrorChannel(JsonObject change) {
    String path = change.getString("vhost");
    if (NodeId.of(vertx).equals(change.getString("origin"))) {
      return;
    }
    String op = change.getString("op");
    String channel = change.getString("channel");
    Future<?> before = mirroring.getOrDefault(path, Future.succeededFuture());
    Future<?> f = before.transform(x -> copyChannels(path, op, channel));
    mirroring.put(path, f);
    f.onComplete(x -> mirroring.remove(path, f));
    f.onFailure(err -> LOG.warn("{}: copying another node's channel change failed: {}", path, err.getMessage()));
  }

  /** Writes the grid's state of {@code channel} (of every channel, after a close of all) to this node's store. */
  private Future<?> copyChannels(String path, String op, String channel) {
    if ("deleteChannels".equals(op)) {
      // Channels opened again since the close may have been copied before it: put back what the grid has.
      return store.deleteChannels(path)
          .compose(x -> grid.channels(path))
          .compose(open -> Future.all(open.stream().map(c -> store.putChannel(path, c)).toList()));
    }
    if (channel == null) {
      return Future.succeededFuture();
    }
    return grid.channelOpen(path, channel)
        .compose(open -> open ? store.putChannel(path, channel) : store.deleteChannel(path, channel));
  }

  private void reply(Message<JsonObject> msg, Future<?> result) {
    result.onComplete(
        r -> msg.reply(r instanceof JsonObject j ? j : null),
        err -> {
          Status status = Bus.statusOf(err, Status.INTERNAL_ERROR);
          if (status == Status.NOT_FOUND || status == Status.BAD_REQUEST) {
            Bus.fail(msg, status);
            return;
          }
          LOG.error("vhost operation {} failed: {}", Bus.actionOf(msg), err.getMessage());
          Bus.fail(msg, Status.INTERNAL_ERROR);
        });
  }

  private Future<String> create(String path) {
    String token = Secrets.vhostToken();
    busy.add(path);
    return grid.createVhost(path, token)
        .compose(created -> created
            ? Future.all(store.putVhost(path, token), NodeViews.vhostChanged(vertx, path)).map(token)
            : Future.<String>failedFuture(Status.BAD_REQUEST.failure()))
        .onComplete(x -> busy.remove(path));
  }

  /** Out of the grid first, so no node serves the vhost while its deletion is written. */
  private Future<Void> delete(String path) {
    busy.add(path);
    return grid.deleteVhost(path).compose(existed -> {
      if (!existed) {
        return Future.failedFuture(Status.NOT_FOUND.failure());
      }
      vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "vhostDeleted").put("vhost", path));
      return NodeViews.vhostChanged(vertx, path)
          .compose(x -> io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx))
          .compose(tokens -> Future.all(store.deleteVhost(path), tokens.dropVhost(path)))
          .<Void>mapEmpty();
    }).onComplete(x -> busy.remove(path));
  }

  private Future<String> regenerate(String path, Vhost v) {
    String token = Secrets.vhostToken();
    // The grid decides (the vhost may have been deleted on another node); then durable, then
    // every node's registry and view take the new token before the caller hears back.
    return grid.setToken(path, token)
        .compose(set -> set
            ? store.putVhost(path, token).compose(x -> NodeViews.vhostChanged(vertx, path))
            : Future.<Void>failedFuture(Status.NOT_FOUND.failure()))
        .map(x -> {
          // Every node's backend endpoint disconnects the workers and persistent clients that
          // identified with the old token (named by its fingerprint, not sent).
          vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "tokenRegenerated")
              .put("vhost", path).put("previous", Secrets.fingerprint(v.token())));
          return token;
        });
  }
}
