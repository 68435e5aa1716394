package io.webrocket;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.webrocket.admin.AdminEndpoint;
import io.webrocket.backend.BackendEndpoint;
import io.webrocket.cluster.ClusterVhostGrid;
import io.webrocket.cluster.Clustering;
import io.webrocket.cluster.Leadership;
import io.webrocket.config.Settings;
import io.webrocket.frontend.WebSocketEndpoint;
import io.webrocket.store.StoreClient;
import io.webrocket.store.StoreVerticle;
import io.webrocket.vhost.Secrets;
import io.webrocket.vhost.VhostDirectory;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One running broker node: the data-directory lock, a Vert.x instance and the verticles.
 * Start with {@link #start(Settings)} on a parsed configuration (see {@code Settings}).
 */
public final class Node {
  /** As parsed at start; the WebSocket port is the one bound (port 0 picks one). */
  private volatile Settings settings;
  private final Vertx vertx;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final String metricsRegistry;
  private final java.util.Deque<String> deployments = new java.util.ArrayDeque<>();
  private final Path lockFile;
  private String cookie;
  private io.webrocket.config.Reloader reloader;

  private Node(Settings settings, Vertx vertx, FileChannel lockChannel, FileLock lock, Path lockFile,
      String metricsRegistry) {
    this.settings = settings;
    this.metricsRegistry = metricsRegistry;
    this.vertx = vertx;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.lockFile = lockFile;
  }

  /** Thrown when another node holds the data directory. */
  public static final class DataDirectoryInUseException extends RuntimeException {
    DataDirectoryInUseException(Path dir) {
      super("data directory " + dir.toAbsolutePath() + " is in use by another WebRocket node"
          + " (lock held on " + dir.resolve(LOCK_FILE).toAbsolutePath() + ")");
    }
  }

  static final String LOCK_FILE = "webrocket.lock";

  /**
   * Lock files held by nodes of this JVM. A second node here must not even open a held lock
   * file: the OS lock is a POSIX record lock, and closing any descriptor of the file drops it
   * for the whole process, which would let another process take the directory.
   */
  private static final Set<Path> LOCKED_HERE = ConcurrentHashMap.newKeySet();

  /** Starts on a resolved configuration's JSON (see {@link Settings#resolve}). */
  public static Future<Node> start(JsonObject config) {
    Settings settings;
    try {
      settings = Settings.parse(config.copy());
    } catch (Settings.InvalidException e) {
      return Future.failedFuture(e);
    }
    return start(settings);
  }

  public static Future<Node> start(Settings settings) {
    Path dir = Path.of(settings.storageDir());
    Path lockFile;
    FileChannel ch;
    FileLock lock;
    try {
      io.webrocket.store.DataDirectory.prepare(dir);
      lockFile = dir.toRealPath().resolve(LOCK_FILE);
    } catch (IOException e) {
      return Future.failedFuture(new IllegalStateException("cannot use data directory " + dir + ": " + e.getMessage()));
    }
    if (!LOCKED_HERE.add(lockFile)) {
      return Future.failedFuture(new DataDirectoryInUseException(dir)); // held by another node in this JVM
    }
    try {
      ch = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
          io.webrocket.store.DataDirectory.privateFileAttributes());
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        ch.close();
        LOCKED_HERE.remove(lockFile);
        return Future.failedFuture(new DataDirectoryInUseException(dir));
      }
    } catch (IOException e) {
      LOCKED_HERE.remove(lockFile);
      return Future.failedFuture(new IllegalStateException("cannot use data directory " + dir + ": " + e.getMessage()));
    }
    io.webrocket.log.Logging.apply(settings.log());
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    // One metrics registry per node: tests run several nodes in one JVM.
    String metricsRegistry = "webrocket-" + settings.nodeName() + "-" + Secrets.hex(4);
    VertxOptions options = new VertxOptions()
        .setEventLoopPoolSize(loops)
        .setPreferNativeTransport(true)
        .setMetricsOptions(new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setRegistryName(metricsRegistry)
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
    String name = settings.nodeName();
    io.vertx.core.transport.Transport transport = transport(settings.transport());
    // The cluster's options are built from its JSON section (start only; see Clustering).
    JsonObject json = settings.json();
    Future<Vertx> created = settings.cluster().enabled()
        ? Clustering.start(options, transport, json.getJsonObject("cluster"), json.getJsonObject("tls"), name)
        : Future.succeededFuture(Vertx.builder().with(options).withTransport(transport).build());
    FileChannel heldChannel = ch;
    FileLock held = lock;
    // A failed start closes Vert.x: the result must not be a future of one of its contexts, whose
    // listeners would be dispatched to an event loop that is gone (the caller would wait forever).
    io.vertx.core.Promise<Node> started = io.vertx.core.Promise.promise();
    created.onComplete(made -> {
      if (made.failed()) {
        release(held, heldChannel, lockFile);
        started.fail(new IllegalStateException("cannot join the cluster: " + made.cause().getMessage(), made.cause()));
        return;
      }
      Vertx vertx = made.result();
      // Broadcast frames cross the event bus without a copy per endpoint instance.
      vertx.eventBus().registerDefaultCodec(io.webrocket.protocol.Frame.class, new io.webrocket.bus.FrameCodec());
      Node node = new Node(settings, vertx, heldChannel, held, lockFile, metricsRegistry);
      node.deploy(loops).onComplete(deployed -> {
        if (deployed.succeeded()) {
          started.complete(node);
        } else {
          node.stop().onComplete(x -> started.fail(deployed.cause()));
        }
      });
    });
    return started.future();
  }

  /**
   * The socket transport {@code transport} names. {@code auto}: native epoll on Linux, else NIO.
   * Epoll writes each socket's pending frames with one JNI {@code writev}, without the JDK's NIO
   * layer: fan-out latency at N = 1,000 fell by a third (docs/performance.md). A named
   * transport this machine cannot load falls back to NIO with a warning. (io_uring was measured
   * too, and is not offered: the test suite lost frames and connections under it.)
   */
  static io.vertx.core.transport.Transport transport(String name) {
    io.vertx.core.transport.Transport wanted = "nio".equals(name) ? io.vertx.core.transport.Transport.NIO
        : io.vertx.core.transport.Transport.EPOLL;
    if (!wanted.available()) {
      if ("epoll".equals(name)) {
        org.slf4j.LoggerFactory.getLogger(Node.class).warn("transport epoll is not available here ({}); using nio",
            wanted.unavailabilityCause().toString());
      }
      return io.vertx.core.transport.Transport.NIO;
    }
    return wanted;
  }

  private static void release(FileLock lock, FileChannel channel, Path lockFile) {
    try {
      lock.release();
      channel.close();
    } catch (IOException ignored) {
      // the process is ending or the file is gone; nothing left to release
    }
    LOCKED_HERE.remove(lockFile);
  }

  private Future<Void> deploy(int loops) {
    Path dir = Path.of(settings.storageDir());
    return track(deployStore(dir))
        .compose(id -> loadCookie(dir))
        .compose(c -> {
          cookie = c;
          // This node's view, which the other nodes' rounds reach (before the directory: its
          // first changes go round every node, this one included).
          return track(vertx.deployVerticle(new io.webrocket.vhost.NodeViews()));
        })
        .compose(id -> ClusterVhostGrid.of(vertx, settings.json().getJsonObject("cluster")))
        .compose(grid -> {
          boolean clustered = settings.cluster().enabled();
          // Every node serves its own vhost requests from the cluster's maps.
          return track(vertx.deployVerticle(new VhostDirectory(settings, grid, !settings.store().postgresql(),
              !clustered, metricsRegistry)));
        })
        // In a cluster, the oldest member does the jobs that need exactly one member.
        .compose(id -> settings.cluster().enabled()
            ? track(vertx.deployVerticle(new Leadership(settings.cluster())))
            : Future.succeededFuture(id))
        // Presence before the endpoints, so that it stops after them and serves their last leaves.
        .compose(id -> track(vertx.deployVerticle(new io.webrocket.presence.PresenceService(settings.presence(), metricsRegistry))))
        .compose(id -> claimWebSocketPort())
        .compose(id -> track(vertx.deployVerticle(WebSocketEndpoint.class, endpoint(settings.websocket().instances(), loops))))
        .compose(id -> track(vertx.deployVerticle(BackendEndpoint.class, endpoint(settings.backend().instances(), loops))))
        .compose(id -> track(vertx.deployVerticle(AdminEndpoint.class, new DeploymentOptions()
            .setConfig(settings.json().put("metrics", metricsRegistry).put("cookie", cookie)))))
        .mapEmpty();
  }

  /**
   * Checks the WebSocket port is free before the endpoint's instances bind it together (see
   * {@link WebSocketEndpoint#claimPort}) and writes back the port chosen for 0. A bind, so off
   * the event loop.
   */
  private Future<Void> claimWebSocketPort() {
    io.webrocket.config.WebSocketSettings ws = settings.websocket();
    return vertx.executeBlocking(() -> WebSocketEndpoint.claimPort(ws.host(), ws.port()))
        .recover(e -> Future.failedFuture(new java.net.BindException("websocket port " + ws.port() + ": " + e.getMessage())))
        .map(port -> {
          settings = settings.withWebSocketPort(port);
          return null;
        });
  }

  /**
   * The store {@code store.type} names: the embedded SQLite file (through the JDBC client, on
   * worker threads) or PostgreSQL (through the reactive client); one event-loop verticle either way.
   */
  private Future<String> deployStore(Path dir) {
    io.webrocket.config.StoreSettings store = settings.store();
    if (store.postgresql()) {
      return vertx.deployVerticle(StoreVerticle.postgres(store.postgres(), settings.nodeName(), metricsRegistry));
    }
    return vertx.deployVerticle(StoreVerticle.sqlite(dir.resolve("webrocket.db"), store.fsync(), metricsRegistry));
  }

  /** Remembers a deployment so {@link #stop()} undeploys in reverse order. */
  private Future<String> track(Future<String> deployment) {
    return deployment.onSuccess(deployments::push);
  }

  /**
   * An endpoint's deployment: the whole configuration as JSON (each instance parses it once, as it
   * does a reload message) and {@code metrics}, the name of the node's metrics registry.
   */
  private DeploymentOptions endpoint(int instances, int loops) {
    return new DeploymentOptions()
        .setConfig(settings.json().put("metrics", metricsRegistry))
        .setInstances(instances > 0 ? instances : loops);
  }

  /**
   * The admin cookie: kept in the store (a per-node setting: a shared PostgreSQL store keys it by
   * node name), mirrored to {@code STORAGE_DIR/NODE_NAME.cookie} (mode 0600) for the admin tool.
   * A cookie file an operator put there is adopted on first start.
   */
  private Future<String> loadCookie(Path dir) {
    StoreClient store = new StoreClient(vertx);
    Path file = dir.resolve(settings.nodeName() + ".cookie");
    String configured = settings.admin().cookie();
    if (configured != null) {
      // Nodes behind one load balancer share the operator's cookie.
      return vertx.executeBlocking(() -> {
        writeCookie(file, configured);
        return configured;
      });
    }
    return store.getSetting("cookie").compose(stored -> {
      if (stored != null) {
        return Future.succeededFuture(stored);
      }
      String fromFile = readCookie(file);
      String c = fromFile != null ? fromFile : Secrets.hex(20);
      return store.putSetting("cookie", c).map(c);
    }).compose(c -> vertx.executeBlocking(() -> {
      writeCookie(file, c);
      return c;
    }));
  }

  private Path cookieFile() {
    return Path.of(settings.storageDir()).resolve(settings.nodeName() + ".cookie");
  }

  private static String readCookie(Path file) {
    try {
      String s = Files.readString(file).trim();
      return s.matches("[0-9a-f]{40}") ? s : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static void writeCookie(Path file, String cookie) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, cookie + "\n");
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Applies edits of {@code file} live (see {@code Reloader}); {@code flags} are the command
   * line's overrides, which keep winning over the file.
   */
  public void watch(Path file, JsonObject flags) {
    long period = settings.reloadScanPeriodMs();
    if (period <= 0) {
      return;
    }
    reloader = new io.webrocket.config.Reloader(vertx, file, flags, settings,
        next -> io.webrocket.log.Logging.apply(next.log()));
    reloader.start(period);
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The configuration as JSON (a copy), with the WebSocket port bound. */
  public JsonObject config() {
    return settings.json();
  }

  public Settings settings() {
    return settings;
  }

  public String cookie() {
    return cookie;
  }

  public String banner() {
    String scheme = settings.tls().enabled() ? "s" : "";
    return String.join("\n",
        "WebRocket node " + settings.nodeName() + " is running",
        "  websocket: ws" + scheme + "://" + settings.websocket().host() + ":" + settings.websocket().port() + "/VHOST",
        "  backend:   wr" + scheme + "://TOKEN@" + settings.backend().host() + ":" + settings.backend().port() + "/VHOST",
        "  admin:     http" + scheme + "://" + settings.admin().host() + ":" + settings.admin().port() + "/",
        "  data dir:  " + Path.of(settings.storageDir()).toAbsolutePath().normalize(),
        "  transport: " + io.webrocket.vertx.VertxInternals.transportName(vertx)
            .replace("Transport", "").toLowerCase(java.util.Locale.ROOT),
        "  store:     " + (settings.store().postgresql()
            ? "postgres " + settings.store().postgres().describe()
            : "sqlite " + Path.of(settings.storageDir()).resolve("webrocket.db").toAbsolutePath().normalize()),
        "  cluster:   " + (settings.cluster().enabled() ? clusterLine() : "off (single node)"),
        "  cookie:    " + (io.webrocket.log.SecretOutput.shown() ? cookie
            : "in " + cookieFile().toAbsolutePath().normalize() + " (not printed: stdout is not a terminal; -print-secrets prints it)"));
  }

  private String clusterLine() {
    io.webrocket.config.ClusterSettings c = settings.cluster();
    JsonObject json = settings.json();
    // Whether a secret is set, never the secret.
    return c.name() + " on " + c.host() + ":" + c.port() + ", join "
        + ("tcp".equals(c.join()) ? new io.vertx.core.json.JsonArray(c.members()).encode() : "multicast")
        + ", secret " + (c.secret() != null ? "set" : "NOT SET")
        + ", event bus " + (Clustering.busTlsConfigured(json.getJsonObject("cluster"), json.getJsonObject("tls")) ? "TLS (mutual)" : "plain")
        + ", node id " + Clustering.nodeId(vertx);
  }

  /**
   * Graceful stop, bounded by {@code shutdown.timeoutMs}: the admin endpoint goes first, then
   * the endpoints stop accepting (browsers get close 1001, workers {@code QT}, in-flight backend
   * requests finish), then the registries and the store; finally the lock is released.
   */
  public Future<Void> stop() {
    if (reloader != null) {
      reloader.stop();
    }
    long timeoutMs = settings.shutdownTimeoutMs();
    Future<Void> ordered = Future.succeededFuture();
    while (!deployments.isEmpty()) {
      String id = deployments.pop();
      ordered = ordered.compose(x -> vertx.undeploy(id)).recover(err -> Future.succeededFuture());
    }
    io.vertx.core.Promise<Void> bounded = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(timeoutMs, t -> bounded.tryComplete());
    ordered.onComplete(x -> {
      vertx.cancelTimer(timer);
      bounded.tryComplete();
    });
    return bounded.future()
        .compose(x -> vertx.close())
        .onComplete(x -> {
          io.webrocket.metrics.Metrics.release(metricsRegistry);
          release(lock, lockChannel, lockFile);
        });
  }
}
