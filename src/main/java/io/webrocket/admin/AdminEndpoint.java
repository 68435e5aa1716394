package io.webrocket.admin;

import io.webrocket.bus.NodeId;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.protocol.Status;
import io.webrocket.config.AdminSettings;
import io.webrocket.config.Settings;
import io.webrocket.config.Tls;
import io.webrocket.config.TlsSettings;
import io.webrocket.metrics.Metrics;
import io.webrocket.protocol.Names;
import io.webrocket.vhost.Registry;
import io.webrocket.vhost.RegistryClient;
import io.webrocket.vhost.Secrets;

/**
 * The admin REST interface (WARI). Every route needs the node cookie in
 * {@code X-WebRocket-Cookie}; routes turn into requests to the vhost directory and registries.
 *
 * <p>Config: the node's whole configuration (its {@code admin}, {@code tls} and {@code node}
 * sections apply), plus {@code cookie} (this node's cookie, configured or generated) and
 * {@code metrics} (the name of the node's metrics registry). The web console ({@link Console})
 * lives under {@code /console/}.
 */
public final class AdminEndpoint extends VerticleBase {
  public static final String COOKIE_HEADER = "X-WebRocket-Cookie";
  /** Probes must answer quickly, whatever else is slow. */
  private static final long READY_TIMEOUT_MS = 2_000;

  private HttpServer server;
  private String cookie;
  private String metricsRegistry;
  private Settings settings;

  @Override
  public Future<?> start() {
    JsonObject c = config();
    cookie = c.getString("cookie");
    metricsRegistry = c.getString("metrics");
    // Nothing of the admin section applies live (address, cookie); the TLS files do, below.
    settings = Settings.parse(c);
    rulesBody.setBodyLimit(settings.history().maxRulesBodyBytes());
    vertx.eventBus().<JsonObject>localConsumer(Addresses.config(),
        m -> rulesBody.setBodyLimit(Settings.parse(m.body()).history().maxRulesBodyBytes()));
    AdminSettings admin = settings.admin();
    HttpServerOptions options = new HttpServerOptions().setHost(admin.host()).setPort(admin.port());
    Tls.apply(settings.tls(), options);
    server = vertx.createHttpServer(options).requestHandler(router());
    vertx.eventBus().<JsonObject>localConsumer(Addresses.tls(),
        m -> server.updateSSLOptions(Tls.sslOptions(TlsSettings.of(m.body()), false), true));
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }

  private Router router() {
    Router r = Router.router(vertx);
    // Operations routes (extensions to WARI): their names are reserved, no vhost can take them.
    r.get("/health").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("status", "UP").encode()));
    r.get("/ready").handler(this::ready);
    if (settings.admin().metricsNeedCookie()) {
      r.get("/metrics").handler(this::checkCookie);
    }
    r.get("/metrics").handler(PrometheusScrapingHandler.create(metricsRegistry));
    new Console(settings.nodeName(), Metrics.of(metricsRegistry), this::clusterStatus).mount(r, this::checkCookie);
    r.route().handler(this::checkCookie);
    r.route().handler(AdminEndpoint::checkPath);
    r.get("/cluster").handler(ctx -> clusterStatus().onComplete(
        c -> ctx.response().putHeader("Content-Type", "application/json").end(c.encode()),
        err -> error(ctx, 500, "cluster status unavailable")));
    r.get("/").handler(this::listVhosts);
    r.delete("/").handler(ctx -> accepted(ctx, directory("clear", new JsonObject())));
    r.post("/:vhost").handler(this::createVhost);
    r.get("/:vhost").handler(this::showVhost);
    r.delete("/:vhost").handler(ctx -> accepted(ctx, directory("delete", vhost(ctx))));
    r.put("/:vhost/token").handler(this::regenerateToken);
    r.get("/:vhost/channels").handler(this::listChannels);
    r.delete("/:vhost/channels").handler(ctx -> accepted(ctx, withRegistry(ctx, Registry::closeChannels)));
    r.post("/:vhost/channels/:channel").handler(this::openChannel);
    r.get("/:vhost/channels/:channel").handler(this::showChannel);
    r.delete("/:vhost/channels/:channel").handler(ctx -> accepted(ctx,
        withRegistry(ctx, reg -> reg.closeChannel(null, ctx.pathParam("channel")))));
    r.get("/:vhost/workers").handler(this::listWorkers);
    r.get("/:vhost/channels/:channel/history").handler(this::channelHistory);
    r.get("/:vhost/history").handler(this::showHistoryRules);
    r.put("/:vhost/history").handler(rulesBody).handler(this::setHistoryRules).failureHandler(ctx -> {
      if (ctx.statusCode() == 413) {
        Metrics.of(metricsRegistry).historyRulesRefused("bodyBytes").increment();
      }
      ctx.next(); // the router's own answer, as before
    });
    r.delete("/:vhost/history").handler(ctx -> accepted(ctx,
        directory("setHistoryRules", vhost(ctx).putNull("rules"))));
    r.route().handler(ctx -> error(ctx, 404, "not found"));
    return r;
  }

  /**
   * Ready when the store and the vhost directory answer (the endpoints were deployed before this
   * one) and, in a cluster, when it has its minimum number of members and a serving leader.
   */
  private void ready(RoutingContext ctx) {
    DeliveryOptions quick = new DeliveryOptions().setSendTimeout(READY_TIMEOUT_MS);
    Future<?> store = vertx.eventBus().request(Addresses.store(), null, new DeliveryOptions(quick).addHeader(Addresses.ACTION, "ping"));
    Future<?> vhosts = vertx.eventBus().request(Addresses.vhosts(), null,
        new DeliveryOptions(quick).addHeader(Addresses.ACTION, "list").setLocalOnly(true));
    Future<Boolean> cluster = clusterStatus().map(c -> !c.getBoolean("enabled")
        || (c.getString("leader") != null && c.getJsonArray("members").size() >= c.getInteger("minMembers")));
    Future.join(store, vhosts, cluster).onComplete(x -> {
      boolean clusterUp = cluster.succeeded() && cluster.result();
      JsonObject checks = new JsonObject()
          .put("store", store.succeeded() ? "UP" : "DOWN")
          .put("vhosts", vhosts.succeeded() ? "UP" : "DOWN")
          .put("cluster", clusterUp ? "UP" : "DOWN")
          .put("endpoints", "UP");
      boolean up = store.succeeded() && vhosts.succeeded() && clusterUp;
      ctx.response().setStatusCode(up ? 200 : 503).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("status", up ? "UP" : "DOWN").put("checks", checks).encode());
    });
  }

  /**
   * The cluster as this node sees it (members, leader); a node that is not clustered is a
   * cluster of one.
   */
  private Future<JsonObject> clusterStatus() {
    return vertx.eventBus().<JsonObject>request(Addresses.cluster(), null,
            new DeliveryOptions().setSendTimeout(READY_TIMEOUT_MS).setLocalOnly(true))
        .map(Message::body)
        .recover(err -> Bus.statusOf(err, Status.NOT_FOUND) != Status.NOT_FOUND
            ? Future.failedFuture(err)
            : Future.succeededFuture(new JsonObject()
                .put("enabled", false)
                .put("node", NodeId.LOCAL)
                .put("leader", NodeId.LOCAL)
                .put("members", new io.vertx.core.json.JsonArray().add(new JsonObject()
                    .put("id", NodeId.LOCAL)
                    .put("name", settings.nodeName())
                    .put("leader", true)
                    .put("local", true)))));
  }

  private void checkCookie(RoutingContext ctx) {
    String given = ctx.request().getHeader(COOKIE_HEADER);
    if (!Secrets.same(cookie, given)) {
      ctx.response().setStatusCode(403).end();
      return;
    }
    ctx.response().putHeader("Content-Type", "application/json").putHeader(COOKIE_HEADER, given);
    ctx.next();
  }

  /**
   * Only canonical paths name a route. The router would otherwise normalize {@code //} to
   * {@code /} and resolve dot segments, so {@code DELETE /demo/..} would clear every vhost.
   */
  private static void checkPath(RoutingContext ctx) {
    if (!canonical(ctx.request().path())) {
      error(ctx, 404, "not found");
      return;
    }
    ctx.next();
  }

  /** {@code /}, or {@code /} + segments that are not empty, {@code .} or {@code ..} (also percent-encoded). */
  static boolean canonical(String path) {
    if (path == null || !path.startsWith("/")) {
      return false;
    }
    if (path.equals("/")) {
      return true;
    }
    for (String segment : path.substring(1).split("/", -1)) {
      String s = segment.replace("%2e", ".").replace("%2E", ".");
      if (s.isEmpty() || s.equals(".") || s.equals("..")) {
        return false;
      }
    }
    return true;
  }

  // ---- requests ----

  private static String vhostPath(RoutingContext ctx) {
    return "/" + ctx.pathParam("vhost");
  }

  private static JsonObject vhost(RoutingContext ctx) {
    return new JsonObject().put("path", vhostPath(ctx));
  }

  private Future<JsonObject> directory(String action, JsonObject body) {
    return Bus.<JsonObject>requestLocal(vertx, Addresses.vhosts(), action, body).map(Message::body);
  }

  /**
   * The registry of the route's vhost, or null for a path that names no vhost (answer 404:
   * see {@link #noVhost}). The operator calls it with a null token (the cookie was checked).
   */
  private Registry registry(RoutingContext ctx) {
    String path = vhostPath(ctx);
    return Names.isValidVhost(path) ? new RegistryClient(vertx, path) : null;
  }

  private static <T> Future<T> noVhost() {
    return Future.failedFuture(Status.NOT_FOUND.failure());
  }

  private <T> Future<T> withRegistry(RoutingContext ctx, java.util.function.Function<Registry, Future<T>> call) {
    Registry r = registry(ctx);
    return r == null ? noVhost() : call.apply(r);
  }

  // ---- vhosts ----

  private void listVhosts(RoutingContext ctx) {
    directory("list", new JsonObject()).onComplete(r -> {
      JsonArray list = new JsonArray();
      for (Object o : r.getJsonArray("vhosts")) {
        JsonObject v = (JsonObject) o;
        list.add(new JsonObject()
            .put("path", v.getString("path"))
            .put("accessToken", v.getString("accessToken"))
            .put("links", links(v.getString("path"))));
      }
      ok(ctx, new JsonObject().put("vhosts", list));
    }, err -> failed(ctx, err, "vhost doesn't exist"));
  }

  private void createVhost(RoutingContext ctx) {
    String path = vhostPath(ctx);
    if (!Names.isValidVhost(path) || Names.isReservedAdminPath(path)) {
      error(ctx, 400, "invalid path");
      return;
    }
    directory("create", vhost(ctx)).onComplete(r -> redirect(ctx, path), err -> failed(ctx, err, "vhost already exists"));
  }

  private void showVhost(RoutingContext ctx) {
    String path = vhostPath(ctx);
    withRegistry(ctx, Registry::info).onComplete(v -> ok(ctx, new JsonObject().put("vhost", new JsonObject()
        .put("path", path)
        .put("accessToken", v.accessToken())
        .put("channels", new JsonObject().put("size", v.channels()))
        .put("links", links(path)))), err -> failed(ctx, err, "vhost doesn't exist"));
  }

  private void regenerateToken(RoutingContext ctx) {
    directory("regenerateToken", vhost(ctx))
        .onComplete(r -> redirect(ctx, vhostPath(ctx)), err -> failed(ctx, err, "vhost doesn't exist"));
  }

  // ---- channels ----

  private void listChannels(RoutingContext ctx) {
    String path = vhostPath(ctx);
    withRegistry(ctx, Registry::channels).onComplete(r -> {
      JsonArray list = new JsonArray();
      for (Registry.ChannelInfo c : r) {
        String name = c.name();
        list.add(new JsonObject().put("name", name).put("links", links(path + "/channels/" + name)));
      }
      ok(ctx, new JsonObject().put("channels", list));
    }, err -> failed(ctx, err, "vhost doesn't exist"));
  }

  private void openChannel(RoutingContext ctx) {
    String location = vhostPath(ctx) + "/channels/" + ctx.pathParam("channel");
    withRegistry(ctx, r -> r.openChannel(null, ctx.pathParam("channel"), Registry.IfOpen.FAIL)).onComplete(r -> redirect(ctx, location), err -> {
      switch (Bus.statusOf(err, Status.NOT_FOUND)) {
        case INVALID_CHANNEL_NAME -> error(ctx, 400, "invalid channel name");
        case BAD_REQUEST -> error(ctx, 400, "channel already exists");
        case TOO_MANY_REQUESTS -> error(ctx, 400, "too many channels in this vhost");
        default -> failed(ctx, err, "vhost doesn't exist");
      }
    });
  }

  private void showChannel(RoutingContext ctx) {
    String path = vhostPath(ctx);
    withRegistry(ctx, r -> r.channel(ctx.pathParam("channel"))).onComplete(c -> ok(ctx, new JsonObject()
        .put("channel", new JsonObject()
        .put("name", c.name())
        .put("subscribers", new JsonObject().put("size", c.subscribers()))
        .put("links", links(path + "/channels/" + c.name())))),
        err -> failed(ctx, err, Bus.statusOf(err, Status.NOT_FOUND) == Status.CHANNEL_NOT_FOUND
            ? "channel doesn't exist" : "vhost doesn't exist"));
  }

  /**
   * Extension: a channel's history settings, epoch, offsets and events after {@code after}
   * (default 0), at most {@code limit} (default and most: {@code history.replayPage}). 400 for a
   * channel without history or bad numbers; 404 as for the channel.
   */
  private void channelHistory(RoutingContext ctx) {
    String path = vhostPath(ctx);
    String channel = ctx.pathParam("channel");
    io.webrocket.history.Histories histories = io.webrocket.history.Histories.existing(vertx);
    long after;
    int limit;
    try {
      after = Long.parseLong(ctx.queryParams().get("after") == null ? "0" : ctx.queryParams().get("after"));
      int most = histories == null ? 0 : histories.settings().replayPage();
      limit = ctx.queryParams().get("limit") == null ? most : Integer.parseInt(ctx.queryParams().get("limit"));
      if (after < 0 || limit < 0) {
        throw new NumberFormatException();
      }
      limit = Math.min(limit, most);
    } catch (NumberFormatException e) {
      error(ctx, 400, "after and limit are non-negative integers");
      return;
    }
    int max = limit;
    withRegistry(ctx, r -> r.channel(channel)).onComplete(c -> {
      var policy = histories == null ? null : histories.policy(path, channel);
      if (policy == null) {
        error(ctx, 400, "channel keeps no history");
        return;
      }
      histories.store().read(path, channel, policy, after, max).onComplete(
          page -> ok(ctx, new JsonObject().put("history",
              io.webrocket.history.OffsetFrames.describe(channel, policy, page, true))),
          err -> error(ctx, 500, "history unavailable"));
    }, err -> failed(ctx, err, Bus.statusOf(err, Status.NOT_FOUND) == Status.CHANNEL_NOT_FOUND
        ? "channel doesn't exist" : "vhost doesn't exist"));
  }

  /**
   * Reads a {@code PUT /VHOST/history} body up to {@code history.maxRulesBodyBytes} (a larger one
   * is answered 413 and counted in {@code webrocket_history_rules_refused_total{reason="bodyBytes"}});
   * the bound follows reloads.
   */
  private final io.vertx.ext.web.handler.BodyHandler rulesBody = io.vertx.ext.web.handler.BodyHandler.create(false);

  /**
   * Extension: the vhost's history rules in force on this node and where they come from
   * ({@code "admin"}: set through {@code PUT /VHOST/history}; {@code "file"}: the configuration).
   */
  private void showHistoryRules(RoutingContext ctx) {
    String path = vhostPath(ctx);
    directory("historyRules", vhost(ctx)).onComplete(
        d -> ok(ctx, new JsonObject().put("history", historyRules(path, d.getString("rules")))),
        err -> failed(ctx, err, "vhost doesn't exist"));
  }

  private JsonObject historyRules(String path, String adminRules) {
    io.webrocket.history.Histories histories = io.webrocket.history.Histories.existing(vertx);
    JsonObject inForce = histories != null ? histories.rulesInForce(path)
        : new JsonObject().put("source", adminRules != null ? "admin" : "file")
            .put("rules", adminRules != null ? new JsonObject(adminRules) : new JsonObject());
    return new JsonObject().put("vhost", path).mergeIn(inForce);
  }

  /**
   * Extension: replaces the vhost's history rules by the body's ({@code {"chat*": {"size": 1000,
   * "lifetimeMs": 300000}}}, checked as the file's rules are); in effect on every node when it
   * answers 200 with the rules in force. 400 for a bad body, 404 for no such vhost.
   */
  private void setHistoryRules(RoutingContext ctx) {
    String path = vhostPath(ctx);
    Object rules;
    try {
      rules = ctx.body().buffer() == null ? null : io.vertx.core.json.Json.decodeValue(ctx.body().buffer());
    } catch (RuntimeException e) {
      rules = null;
    }
    if (!(rules instanceof JsonObject o)) {
      error(ctx, 400, "the body must be a JSON object of channel patterns");
      return;
    }
    directory("setHistoryRules", vhost(ctx).put("rules", o)).onComplete(
        d -> ok(ctx, new JsonObject().put("history", historyRules(path, d.getString("rules")))),
        err -> {
          if (Bus.statusOf(err, Status.NOT_FOUND) == Status.BAD_REQUEST) {
            error(ctx, 400, err.getMessage());
          } else {
            failed(ctx, err, "vhost doesn't exist");
          }
        });
  }

  private void listWorkers(RoutingContext ctx) {
    String path = vhostPath(ctx);
    withRegistry(ctx, Registry::workers).onComplete(r -> {
      JsonArray list = new JsonArray();
      for (String id : r) {
        list.add(new JsonObject().put("id", id).put("links", links(path + "/workers/" + id)));
      }
      ok(ctx, new JsonObject().put("workers", list));
    }, err -> failed(ctx, err, "vhost doesn't exist"));
  }

  // ---- responses ----

  private static JsonArray links(String href) {
    return new JsonArray().add(new JsonObject().put("rel", "self").put("href", href));
  }

  private static void ok(RoutingContext ctx, JsonObject body) {
    ctx.response().setStatusCode(200).end(body.encode());
  }

  private static void redirect(RoutingContext ctx, String location) {
    ctx.response().setStatusCode(302).putHeader("Location", location).end();
  }

  private static void accepted(RoutingContext ctx, Future<?> op) {
    op.onComplete(r -> ctx.response().setStatusCode(202).end(), err -> failed(ctx, err,
        Bus.statusOf(err, Status.NOT_FOUND) == Status.CHANNEL_NOT_FOUND ? "channel doesn't exist" : "vhost doesn't exist"));
  }

  /** Maps a failed bus request to an HTTP error: missing things are 404, refused input 400. */
  private static void failed(RoutingContext ctx, Throwable err, String notFoundOrBad) {
    Status s = Bus.statusOf(err, Status.NOT_FOUND);
    int http = switch (s) {
      case NOT_FOUND, CHANNEL_NOT_FOUND -> 404;
      case BAD_REQUEST, INVALID_CHANNEL_NAME -> 400;
      default -> 500;
    };
    error(ctx, http, http == 500 ? "internal error" : notFoundOrBad);
  }

  private static void error(RoutingContext ctx, int status, String message) {
    ctx.response().setStatusCode(status).end(new JsonObject().put("error", message).encode());
  }

}
