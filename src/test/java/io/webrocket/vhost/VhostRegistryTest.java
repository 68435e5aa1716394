package io.webrocket.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.config.RegistrySettings;
import io.webrocket.protocol.Status;
import io.webrocket.store.Store.AccessTokenRecord;
import io.webrocket.store.Store.VhostRecord;
import io.webrocket.store.StoreClient;
import io.webrocket.store.StoreVerticle;
import io.webrocket.vhost.Registry.ChannelInfo;
import io.webrocket.vhost.Registry.IfOpen;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One vhost's registry verticle on an in-process event bus, no sockets: a real {@link
 * VhostRegistry} with the one-node grid, the node's view verticle and the SQLite store verticle on
 * a temporary file, used only through {@link RegistryClient} as the edges use it. What a socket
 * test would see as a WBP or WARI status is here the failure's {@link Status}; "durable before
 * the answer" is checked in the store file through {@link StoreClient}.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostRegistryTest {
  private static final String VHOST = "/shop";
  private static final String TOKEN = "0123456789abcdef0123456789abcdef01234567";
  private static final String WRONG = "f123456789abcdef0123456789abcdef01234567";
  /** Small, so that the limit is reached in a few opens. */
  private static final int CHANNELS_PER_VHOST = 3;

  private RegistryClient registry;
  private StoreClient store;

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) throws Exception {
    Path file = Files.createTempDirectory("webrocket-registry-test").resolve("webrocket.db");
    LocalVhostGrid grid = new LocalVhostGrid();
    registry = new RegistryClient(vertx, VHOST);
    store = new StoreClient(vertx);
    vertx.deployVerticle(StoreVerticle.sqlite(file, false, "registry-test"))
        .compose(x -> store.putVhost(VHOST, TOKEN))
        .compose(x -> grid.createVhost(VHOST, TOKEN))
        .compose(x -> vertx.deployVerticle(new NodeViews()))
        .compose(x -> vertx.deployVerticle(new VhostRegistry(VHOST, TOKEN, grid, false,
            new RegistrySettings(60_000, CHANNELS_PER_VHOST), "registry-test")))
        .onComplete(ctx.succeedingThenComplete());
  }

  /** Succeeds when {@code f} failed with {@code expected}; fails the test otherwise. */
  private static Future<Void> refused(Status expected, Future<?> f, String what) {
    return f.transform(ar -> {
      assertTrue(ar.failed(), what + ": succeeded, expected " + expected);
      assertEquals(expected, Bus.statusOf(ar.cause(), Status.NOT_FOUND), what);
      return Future.succeededFuture();
    });
  }

  private Future<VhostRecord> stored() {
    return store.loadAll().map(all -> all.stream().filter(v -> v.path().equals(VHOST)).findFirst().orElseThrow());
  }

  @Test
  void aWrongTokenIsRefusedBeforeAnythingElseIsChecked(VertxTestContext ctx) {
    registry.identify(TOKEN)
        .compose(x -> refused(Status.UNAUTHORIZED, registry.identify(WRONG), "identify"))
        .compose(x -> refused(Status.UNAUTHORIZED, registry.identify(null), "identify without a token"))
        .compose(x -> refused(Status.UNAUTHORIZED, registry.checkBroadcast(WRONG, "no-such-channel"), "broadcast"))
        .compose(x -> refused(Status.UNAUTHORIZED, registry.openChannel(WRONG, "", IfOpen.SUCCEED), "open"))
        .compose(x -> refused(Status.UNAUTHORIZED, registry.closeChannel(WRONG, "news"), "close"))
        .compose(x -> refused(Status.UNAUTHORIZED, registry.issueAccessToken(WRONG, "", "("), "access token"))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aChannelOpensOnceIsDurableBeforeTheAnswerAndIsListed(VertxTestContext ctx) {
    registry.openChannel(null, "news", IfOpen.FAIL)
        .compose(x -> stored())
        .map(v -> {
          assertEquals(List.of("news"), v.channels(), "in the store when the open is answered");
          return v;
        })
        // A second open: the operator's is an error, a backend's a no-op.
        .compose(x -> refused(Status.BAD_REQUEST, registry.openChannel(null, "news", IfOpen.FAIL), "second open"))
        .compose(x -> registry.openChannel(TOKEN, "news", IfOpen.SUCCEED))
        .compose(x -> registry.channelExists("news"))
        .compose(x -> registry.checkBroadcast(TOKEN, "news"))
        .compose(x -> refused(Status.CHANNEL_NOT_FOUND, registry.checkBroadcast(TOKEN, "other"), "broadcast on no channel"))
        .compose(x -> registry.channels())
        .map(list -> {
          assertEquals(List.of(new ChannelInfo("news", 0)), list);
          return list;
        })
        .compose(x -> registry.channel("news"))
        .map(c -> {
          assertEquals(new ChannelInfo("news", 0), c);
          return c;
        })
        .compose(x -> registry.info())
        .map(info -> {
          assertEquals(new Registry.Info(VHOST, TOKEN, 1), info);
          return info;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void badChannelNamesAreRefusedWithTheStatusOfWhoAsked(VertxTestContext ctx) {
    refused(Status.INVALID_CHANNEL_NAME, registry.openChannel(null, "", IfOpen.FAIL), "operator, empty")
        .compose(x -> refused(Status.BAD_REQUEST, registry.openChannel(TOKEN, "", IfOpen.SUCCEED), "backend, empty"))
        .compose(x -> refused(Status.INVALID_CHANNEL_NAME, registry.openChannel(TOKEN, "a b", IfOpen.SUCCEED), "a space"))
        .compose(x -> refused(Status.CHANNEL_NOT_FOUND, registry.channelExists(null), "no name"))
        .compose(x -> refused(Status.CHANNEL_NOT_FOUND, registry.channel("never-opened"), "never opened"))
        .compose(x -> stored())
        .map(v -> {
          assertEquals(List.of(), v.channels(), "nothing stored");
          return v;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  /**
   * A reload is applied by each verticle on its own event loop: the directory that deploys a
   * registry can still hold the settings from before it while running registries apply it. A
   * registry deployed then takes the reload the node recorded, not its deployer's older copy.
   */
  @Test
  void aRegistryDeployedAfterAReloadStartsWithTheReloadedLimitNotItsDeployersCopy(Vertx vertx, VertxTestContext ctx) {
    JsonObject reloaded = io.webrocket.config.Settings.defaults();
    reloaded.put("limits", reloaded.getJsonObject("limits").copy().put("channelsPerVhost", 1));
    io.webrocket.config.LiveConfiguration.publish(vertx, reloaded);
    String later = "/later";
    RegistryClient laterRegistry = new RegistryClient(vertx, later);
    LocalVhostGrid grid = new LocalVhostGrid();
    store.putVhost(later, TOKEN)
        .compose(x -> grid.createVhost(later, TOKEN))
        .compose(x -> vertx.deployVerticle(new VhostRegistry(later, TOKEN, grid, false,
            new RegistrySettings(60_000, CHANNELS_PER_VHOST), "registry-test-later")))
        .compose(x -> laterRegistry.openChannel(null, "a", IfOpen.FAIL))
        .compose(x -> refused(Status.TOO_MANY_REQUESTS, laterRegistry.openChannel(null, "b", IfOpen.FAIL),
            "over the reloaded limit of 1, though deployed with 3"))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void theChannelLimitRefusesTheNextOpenWith429(VertxTestContext ctx) {
    registry.openChannel(null, "a", IfOpen.FAIL)
        .compose(x -> registry.openChannel(null, "b", IfOpen.FAIL))
        .compose(x -> registry.openChannel(TOKEN, "c", IfOpen.SUCCEED))
        .compose(x -> refused(Status.TOO_MANY_REQUESTS, registry.openChannel(null, "d", IfOpen.FAIL), "over the limit"))
        // An open of a channel that is open already does not count against the limit.
        .compose(x -> registry.openChannel(TOKEN, "c", IfOpen.SUCCEED))
        .compose(x -> stored())
        .map(v -> {
          assertEquals(List.of("a", "b", "c"), v.channels().stream().sorted().toList());
          return v;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aClosedChannelIsGoneFromTheStoreAndAnnouncedToEveryEndpoint(Vertx vertx, VertxTestContext ctx) {
    var announced = ctx.checkpoint();
    var answered = ctx.checkpoint();
    vertx.eventBus().<JsonObject>consumer(Addresses.events(), m -> {
      if ("channelClosed".equals(m.body().getString("type"))) {
        ctx.verify(() -> assertEquals(new JsonObject().put("type", "channelClosed").put("vhost", VHOST)
            .put("channel", "news"), m.body()));
        announced.flag();
      }
    }).completion()
        .compose(x -> registry.openChannel(null, "news", IfOpen.FAIL))
        .compose(x -> registry.closeChannel(TOKEN, "news"))
        .compose(x -> refused(Status.CHANNEL_NOT_FOUND, registry.channelExists("news"), "closed"))
        .compose(x -> refused(Status.CHANNEL_NOT_FOUND, registry.closeChannel(null, "news"), "closed twice"))
        .compose(x -> stored())
        .map(v -> {
          assertEquals(List.of(), v.channels(), "gone from the store when the close is answered");
          return v;
        })
        .onComplete(ctx.succeeding(x -> answered.flag()));
  }

  @Test
  void anAccessTokenIsIssuedOnlyForAUidAndAValidPermissionAndIsDurable(VertxTestContext ctx) {
    refused(Status.BAD_REQUEST, registry.issueAccessToken(TOKEN, "", ".*"), "no uid")
        .compose(x -> refused(Status.BAD_REQUEST, registry.issueAccessToken(TOKEN, "alice", ""), "no permission"))
        .compose(x -> refused(Status.BAD_REQUEST, registry.issueAccessToken(TOKEN, "alice", "("), "not a regexp"))
        .compose(x -> registry.issueAccessToken(TOKEN, "alice", "chat.*"))
        .compose(token -> stored().map(v -> {
          assertEquals(1, v.accessTokens().size(), "one token stored: " + v.accessTokens());
          AccessTokenRecord t = v.accessTokens().get(0);
          assertEquals(token, t.token());
          assertEquals("alice", t.uid());
          assertEquals("chat.*", t.permission());
          long left = t.expiresAt() - System.currentTimeMillis();
          assertTrue(left > 0 && left <= 60_000, "expires within the configured lifetime: " + left);
          return v;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aVhostWithoutARegistryOnThisNodeIsNotFound(Vertx vertx, VertxTestContext ctx) {
    // No directory on this bus either: the client's second look finds nobody, as for a deleted vhost.
    refused(Status.NOT_FOUND, new RegistryClient(vertx, "/nowhere").exists(), "no such vhost")
        .compose(x -> registry.exists())
        .onComplete(ctx.succeedingThenComplete());
  }
}
