package io.webrocket.test;

import io.vertx.core.json.JsonObject;
import io.webrocket.Node;
import io.webrocket.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A real broker node in this JVM on free loopback ports with its own data directory.
 * {@code overrides} is merged over the defaults like a configuration file.
 */
public final class TestNode implements AutoCloseable {
  public final Node node;
  public final Path dataDir;
  public final int wsPort;
  public final int backendPort;
  public final int adminPort;

  private TestNode(Node node, Path dataDir) {
    this.node = node;
    this.dataDir = dataDir;
    JsonObject c = node.config();
    this.wsPort = c.getJsonObject("websocket").getInteger("port");
    this.backendPort = c.getJsonObject("backend").getInteger("port");
    this.adminPort = c.getJsonObject("admin").getInteger("port");
  }

  public static TestNode start() {
    return start(new JsonObject());
  }

  public static TestNode start(JsonObject overrides) {
    try {
      return start(Files.createTempDirectory("webrocket-test"), overrides);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts on {@code dataDir} (reuse one to test restarts). */
  public static TestNode start(Path dataDir, JsonObject overrides) {
    JsonObject file = new JsonObject()
        .put("host", "127.0.0.1")
        .put("storageDir", dataDir.toString())
        .put("node", new JsonObject().put("name", "test"))
        .put("websocket", new JsonObject().put("port", freeFixedPort()))
        .put("backend", new JsonObject().put("port", freeFixedPort()))
        .put("admin", new JsonObject().put("port", freeFixedPort()))
        .mergeIn(overrides, true);
    JsonObject config = Settings.resolve(file, Map.of(), Map.of(), new JsonObject());
    return new TestNode(Node.start(config).await(), dataDir);
  }

  /** A port for a server that binds it later, unique across test JVMs ({@link Ports#reserve()}). */
  public static int freeFixedPort() {
    return Ports.reserve();
  }

  /** The same as {@link #freeFixedPort()}: every port a test picks comes from {@link Ports}. */
  public static int freePort() {
    return Ports.reserve();
  }

  public String cookie() {
    return node.cookie();
  }

  public AdminClient admin() {
    return new AdminClient(adminPort, cookie());
  }

  /** A vhost of its own for one test: its path and access token. */
  public record Vhost(String path, String token) {
    /** The WBP identity of a one-shot or persistent client of this vhost. */
    public String req() {
      return WbpClient.identity("req", path, token);
    }

    /** The WBP identity of a worker of this vhost. */
    public String dlr() {
      return WbpClient.identity("dlr", path, token);
    }
  }

  private static final java.util.concurrent.atomic.AtomicInteger VHOSTS = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * A new vhost with {@code channels} open, named so that no other test of this JVM has it: a
   * class can share one node and give each test a fresh vhost instead of a node of its own.
   */
  public Vhost freshVhost(String... channels) {
    String path = "/t" + VHOSTS.incrementAndGet();
    Vhost v = new Vhost(path, createVhost(path));
    for (String c : channels) {
      openChannel(path, c);
    }
    return v;
  }

  /** Creates a vhost through the admin API and returns its access token. */
  public String createVhost(String path) {
    return admin().createVhost(path);
  }

  public void openChannel(String vhost, String channel) {
    admin().openChannel(vhost, channel);
  }

  public WsClient ws(String vhost) {
    return WsClient.connect(wsPort, vhost);
  }

  public WbpClient wbp() {
    return WbpClient.connect(backendPort);
  }

  @Override
  public void close() {
    node.stop().await();
  }
}
