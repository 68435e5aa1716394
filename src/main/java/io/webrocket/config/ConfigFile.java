package io.webrocket.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads {@code conf/webrocket.json} (or the file given with {@code -config}) through vertx-config. */
public final class ConfigFile {
  public static final String DEFAULT = "conf/webrocket.json";

  private ConfigFile() {}

  /** The file to read: the one named, else the default if it exists, else none (null). */
  public static Path choose(String named) {
    if (named != null) {
      Path p = Path.of(named);
      if (!Files.isRegularFile(p)) {
        throw new Settings.InvalidException("config", "no such file: " + named);
      }
      return p;
    }
    Path p = Path.of(DEFAULT);
    return Files.isRegularFile(p) ? p : null;
  }

  public static ConfigRetriever retriever(Vertx vertx, Path file, long scanPeriodMs) {
    ConfigStoreOptions store = new ConfigStoreOptions()
        .setType("file")
        .setFormat("json")
        .setConfig(new JsonObject().put("path", file.toString()));
    return ConfigRetriever.create(vertx, new ConfigRetrieverOptions().addStore(store).setScanPeriod(scanPeriodMs));
  }

  /** The file's content, or an empty object when there is no file. */
  public static Future<JsonObject> read(Vertx vertx, Path file) {
    if (file == null) {
      return Future.succeededFuture(new JsonObject());
    }
    ConfigRetriever r = retriever(vertx, file, -1);
    return r.getConfig()
        .recover(err -> Future.failedFuture(new Settings.InvalidException("config", file + ": " + err.getMessage())))
        .onComplete(x -> r.close());
  }
}
