package io.webrocket.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.webrocket.bus.Addresses;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the configuration file and applies edits to the running node without dropping a
 * connection. A valid edit is parsed once ({@link Settings#load}) and published, whole and as
 * JSON, on {@link Addresses#config()} (local consumers only); each verticle parses it into its
 * settings records and applies the ones it can change live. Keys that cannot change live (addresses, ports, storage,
 * instance counts) are logged as needing a restart. An invalid edit is rejected with one log
 * line naming the key, and the node keeps its previous configuration.
 */
public final class Reloader {
  private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);

  /** Keys (dotted paths, or a prefix ending in '.') whose change needs a restart. */
  private static final List<String> RESTART = List.of(
      "host", "storageDir", "transport", "node.", "websocket.host", "websocket.port", "websocket.instances",
      "backend.host", "backend.port", "backend.instances", "backend.idleTimeoutMs",
      "admin.host", "admin.port", "admin.cookie", "admin.metricsNeedCookie", "store.", "cluster.",
      "reload.", "shutdown.");

  private final Vertx vertx;
  private final Path file;
  private final JsonObject flags;
  private final Consumer<Settings> applied;
  private Settings current;
  private ConfigRetriever retriever;
  private String lastRejection;
  private String tlsFiles;
  private boolean tlsChecking;
  private long tlsTimer = -1;

  /** {@code applied} is told of every configuration that took effect (for the node's own use). */
  public Reloader(Vertx vertx, Path file, JsonObject flags, Settings current, Consumer<Settings> applied) {
    this.vertx = vertx;
    this.file = file;
    this.flags = flags;
    this.current = current;
    this.applied = applied;
  }

  /** Called off the event loop: it reads the TLS files' times once, and may look up the host name. */
  public void start(long scanPeriodMs) {
    // The defaults hold the host name, looked up once per process: here, not at the first reload.
    Settings.defaults();
    // A renewed certificate is often written over the old files: watch them, not just the paths.
    tlsFiles = current.tls().enabled() ? Tls.fingerprint(current.tls()) : null;
    tlsTimer = vertx.setPeriodic(scanPeriodMs, t -> checkTlsFiles());
    if (file == null) {
      return; // no file to watch: only the TLS files are
    }
    retriever = ConfigFile.retriever(vertx, file, scanPeriodMs);
    // The first read is compared with the running configuration too: the file may have
    // changed between start-up and now.
    retriever.getConfig().onSuccess(this::onFile);
    retriever.listen(change -> onFile(change.getNewConfiguration()));
    retriever.configStream().exceptionHandler(err -> rejected(file + ": " + err.getMessage()));
  }

  /** Reads the files' times on a worker thread: a stat can block (a slow or network disk). */
  private void checkTlsFiles() {
    TlsSettings tls = current.tls();
    if (!tls.enabled() || tlsChecking) {
      return;
    }
    tlsChecking = true;
    vertx.executeBlocking(() -> Tls.fingerprint(tls), false).onComplete(done -> {
      tlsChecking = false;
      if (done.failed() || tls != current.tls()) {
        return; // a reload replaced the files meanwhile; the next period compares those
      }
      String now = done.result();
      if (tlsFiles != null && !now.equals(tlsFiles)) {
        LOG.info("TLS certificate files changed; reloading them");
        vertx.eventBus().publish(Addresses.tls(), current.json().getJsonObject("tls"));
      }
      tlsFiles = now;
    });
  }

  public void stop() {
    vertx.cancelTimer(tlsTimer);
    if (retriever != null) {
      retriever.close();
    }
  }

  void onFile(JsonObject fromFile) {
    Settings next;
    try {
      Map<String, String> props = new java.util.HashMap<>();
      System.getProperties().forEach((k, v) -> props.put(k.toString(), v.toString()));
      next = Settings.load(fromFile, System.getenv(), props, flags);
    } catch (Settings.InvalidException e) {
      rejected(e.getMessage());
      return;
    }
    lastRejection = null;
    JsonObject nextJson = next.json();
    List<String> changed = new ArrayList<>();
    diff("", current.json(), nextJson, changed);
    if (changed.isEmpty()) {
      return;
    }
    for (String key : changed) {
      if (needsRestart(key)) {
        LOG.warn("configuration: {} changed; this takes effect after a restart", key);
      }
    }
    LOG.info("configuration reloaded: {}", changed);
    TlsSettings oldTls = current.tls();
    TlsSettings newTls = next.tls();
    if (oldTls.enabled() != newTls.enabled()) {
      LOG.warn("configuration: TLS turned {}; this takes effect after a restart", newTls.enabled() ? "on" : "off");
    } else if (newTls.enabled() && !oldTls.equals(newTls)) {
      vertx.eventBus().publish(Addresses.tls(), nextJson.getJsonObject("tls"));
    }
    current = next;
    applied.accept(next);
    LiveConfiguration.publish(vertx, nextJson);
  }

  /** One line per distinct problem: the file is scanned every period and may stay broken a while. */
  private void rejected(String why) {
    if (!why.equals(lastRejection)) {
      lastRejection = why;
      LOG.error("configuration change rejected: {}; keeping the previous configuration", why);
    }
  }

  static boolean needsRestart(String key) {
    for (String r : RESTART) {
      if (r.endsWith(".") ? key.startsWith(r) : key.equals(r)) {
        return true;
      }
    }
    return false;
  }

  /** Dotted paths of every scalar that differs; the declared vhosts count as one key each. */
  static void diff(String prefix, JsonObject a, JsonObject b, List<String> out) {
    Set<String> keys = new java.util.TreeSet<>(a.fieldNames());
    keys.addAll(b.fieldNames());
    for (String k : keys) {
      String path = prefix.isEmpty() ? k : prefix + "." + k;
      Object x = a.getValue(k);
      Object y = b.getValue(k);
      if (x instanceof JsonObject ox && y instanceof JsonObject oy && !path.equals("vhosts")) {
        diff(path, ox, oy, out);
      } else if (x == null ? y != null : !x.equals(y)) {
        out.add(path);
      }
    }
  }
}
