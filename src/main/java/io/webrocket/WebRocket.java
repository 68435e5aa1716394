package io.webrocket;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.webrocket.admin.AdminCli;
import io.webrocket.config.CommandLine;
import io.webrocket.config.ConfigFile;
import io.webrocket.config.Settings;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Entry point: {@code java -jar webrocket.jar [flags]} runs a node in this process;
 * {@code java -jar webrocket.jar admin COMMAND ...} runs the admin tool.
 */
public final class WebRocket {
  private WebRocket() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("admin")) {
      System.exit(AdminCli.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
    }
    CommandLine.Parsed cli;
    Settings config;
    Path file;
    try {
      cli = CommandLine.parse(args);
      if (cli.help()) {
        System.out.println(CommandLine.USAGE);
        return;
      }
      if (cli.printSecrets()) {
        io.webrocket.log.SecretOutput.request();
      }
      file = ConfigFile.choose(cli.configFile());
      config = loadConfig(file, cli.flags());
    } catch (IllegalArgumentException | Settings.InvalidException e) {
      System.err.println("webrocket: " + e.getMessage());
      System.err.println(CommandLine.USAGE);
      System.exit(2);
      return;
    }
    Node node;
    try {
      node = Node.start(config).await();
    } catch (Exception e) {
      System.err.println("webrocket: cannot start: " + e.getMessage());
      System.exit(1);
      return;
    }
    System.out.println(node.banner());
    node.watch(file, cli.flags());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.stop().await();
      } catch (Exception ignored) {
        // exiting anyway
      }
      io.webrocket.log.Logging.flush();
      stopped.countDown();
    }, "webrocket-shutdown"));
  }

  /** Reads the file through vertx-config, then applies environment, -D and command-line overrides. */
  static Settings loadConfig(Path file, JsonObject flags) throws Exception {
    Vertx reader = Vertx.vertx();
    try {
      JsonObject fromFile = ConfigFile.read(reader, file).await();
      Map<String, String> props = new HashMap<>();
      System.getProperties().forEach((k, v) -> props.put(k.toString(), v.toString()));
      return Settings.load(fromFile, System.getenv(), props, flags);
    } finally {
      reader.close().await();
    }
  }
}
