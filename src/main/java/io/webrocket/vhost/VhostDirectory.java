package io.webrocket.vhost;

import io.webrocket.protocol.Names;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.config.RegistrySettings;
import io.webrocket.config.Settings;
import io.webrocket.config.VhostSettings;
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
 * The set of vhosts and their access tokens. Deploys one {@link VhostRegistry} per vhost,
 * rebuilds them from the store at start-up, creates the vhosts and channels the configuration
 * declares, and serves the vhost operations of the admin API.
 *
 * <p>In a cluster it runs on the leader only, and rebuilds from the {@link Replica} the previous
 * leader kept (or from the store when the cluster has no copy yet: it just formed).
 */
public final class VhostDirectory extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(VhostDirectory.class);

  private record Vhost(String token, String deployment) {}

  /** Declared vhosts and what new registries get; replaced on reload (see {@link #apply}). */
  private Map<String, VhostSettings> declared;
  private RegistrySettings registrySettings;
  private final String metricsRegistry;
  private final Map<String, Vhost> vhosts = new TreeMap<>();
  /** Paths being created or deleted: a second request for one of them waits for no one and fails. */
  private final java.util.Set<String> busy = new java.util.HashSet<>();
  private Store store;
  private final Replica replica;
  private MessageConsumer<JsonObject> consumer;

  /** {@code settings}: the declared vhosts and channels that must exist, and what registries apply. */
  public VhostDirectory(Settings settings, Replica replica, String metricsRegistry) {
    this.replica = replica;
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
  }

  @Override
  public Future<?> start() {
    store = new StoreClient(vertx);
    return replica.vhosts()
        .compose(copy -> copy != null ? restore(copy) : load())
        .compose(v -> applyDeclared())
        .compose(v -> {
          consumer = vertx.eventBus().consumer(Addresses.vhosts(), this::handle);
          // Live configuration: newly declared vhosts and channels are created; nothing is
          // ever deleted because a declaration disappeared (removal is explicit).
          vertx.eventBus().<JsonObject>localConsumer(Addresses.config(), m -> {
            apply(Settings.parse(m.body()));
            applyDeclared().onFailure(err -> LOG.error("declared vhosts: {}", err.getMessage()));
          });
          return consumer.completion();
        });
  }

  /** From the durable store; in a cluster the replica then gets its first copy. */
  private Future<Void> load() {
    return store.loadAll()
        .compose(all -> Future.all(all.stream()
            .map(r -> replica.putVhost(r.path(), r.token()).compose(x -> deploy(r, null)))
            .toList()))
        .compose(x -> replica.markComplete());
  }

  /** A new leader takes over: every vhost as the replica holds it. */
  private Future<Void> restore(Map<String, String> copy) {
    LOG.info("taking over {} vhosts from the cluster's replica", copy.size());
    return Future.all(copy.entrySet().stream()
        .map(e -> replica.load(e.getKey()).compose(entries ->
            deploy(new VhostRecord(e.getKey(), e.getValue(), List.of(), List.of()), entries)))
        .toList()).mapEmpty();
  }

  private Future<Void> deploy(VhostRecord record, Map<String, Object> replicated) {
    return vertx
        .deployVerticle(new VhostRegistry(record, replicated, replica, registrySettings, metricsRegistry))
        .map(id -> {
          vhosts.put(record.path(), new Vhost(record.token(), id));
          return null;
        });
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
          created = create(path).map(token -> {
            // Printed for the operator, never logged: logs must not hold secrets.
            io.webrocket.log.SecretOutput.println("declared vhost " + path + " created; access token " + token,
                "declared vhost " + path + " created; its access token: admin show_vhost " + path);
            return null;
          });
        }
        return created.compose(x -> openDeclaredChannels(path, channels));
      });
    }
    return chain;
  }

  private Future<Void> openDeclaredChannels(String path, List<String> channels) {
    List<Future<?>> opened = new ArrayList<>();
    for (String c : channels) {
      opened.add(
          new RegistryClient(vertx, path).openChannel(null, c, Registry.IfOpen.FAIL)
              .recover(err -> Bus.statusOf(err, Status.NOT_FOUND) == Status.BAD_REQUEST
                  ? Future.succeededFuture() // already open
                  : Future.failedFuture(err)));
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
        Vhost v = vhosts.get(path);
        if (v == null) {
          Bus.fail(msg, Status.NOT_FOUND);
        } else {
          msg.reply(new JsonObject().put("path", path).put("accessToken", v.token()));
        }
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
      default -> Bus.fail(msg, Status.BAD_REQUEST);
    }
  }

  private void reply(Message<JsonObject> msg, Future<?> result) {
    result.onComplete(
        r -> msg.reply(r instanceof JsonObject j ? j : null),
        err -> {
          if (Bus.statusOf(err, Status.INTERNAL_ERROR) == Status.NOT_FOUND) {
            Bus.fail(msg, Status.NOT_FOUND);
            return;
          }
          LOG.error("vhost operation {} failed: {}", Bus.actionOf(msg), err.getMessage());
          Bus.fail(msg, Status.INTERNAL_ERROR);
        });
  }

  private Future<String> create(String path) {
    String token = Secrets.vhostToken();
    busy.add(path);
    return Future.all(store.putVhost(path, token), replica.putVhost(path, token))
        .compose(v -> deploy(new VhostRecord(path, token, List.of(), List.of()), null))
        .map(v -> token)
        .onComplete(x -> busy.remove(path));
  }

  /** The registry goes first, so nobody can use the vhost while its deletion is written. */
  private Future<Void> delete(String path) {
    Vhost v = vhosts.remove(path);
    busy.add(path);
    vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "vhostDeleted").put("vhost", path));
    return vertx
        .undeploy(v.deployment())
        .compose(x -> io.webrocket.cluster.ClusterAccessTokenGrid.of(vertx))
        .compose(grid -> Future.all(store.deleteVhost(path), replica.dropVhost(path), grid.dropVhost(path)))
        .<Void>mapEmpty()
        .onComplete(x -> busy.remove(path));
  }

  private Future<String> regenerate(String path, Vhost v) {
    String token = Secrets.vhostToken();
    // Durable first: if the write fails nothing changed. The reply waits for the registry, so
    // the old token authenticates nobody once the caller hears back.
    return Future.all(store.putVhost(path, token), replica.putVhost(path, token))
        .compose(x -> new RegistryClient(vertx, path).setToken(token))
        .transform(r -> {
          Vhost current = vhosts.get(path);
          if (current == null || !current.deployment().equals(v.deployment())) {
            // Deleted while this ran (its deletion reached the store after our write): gone, not back.
            return Future.failedFuture(Status.NOT_FOUND.failure());
          }
          if (r.failed()) {
            return Future.failedFuture(r.cause());
          }
          vhosts.put(path, new Vhost(token, current.deployment()));
          // Every node's backend endpoint disconnects the workers and persistent clients that
          // identified with the old token (named by its fingerprint, not sent).
          vertx.eventBus().publish(Addresses.events(), new JsonObject().put("type", "tokenRegenerated")
              .put("vhost", path).put("previous", Secrets.fingerprint(v.token())));
          return Future.succeededFuture(token);
        });
  }
}
