package io.webrocket.admin;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;
import io.webrocket.metrics.Metrics;

/**
 * The web console under {@code /console/} on the admin endpoint (an extension to WARI).
 *
 * <p>The page itself (HTML, JS, CSS from the classpath folder {@code console/}) holds no data
 * and is served without the cookie; the browser asks the operator for the cookie and sends it
 * on every call. Its data comes from the WARI routes and from two JSON routes under
 * {@code /console/api/}, which need the cookie like every WARI route:
 *
 * <ul>
 *   <li>{@code GET /console/api/node}: {@code {"node": NAME, "members": [NAME, ...], "leader": NAME}}
 *       (the cluster's members; a node that is not clustered is its only member)</li>
 *   <li>{@code GET /console/api/stats}: this node's totals over all vhosts, read from its meters:
 *       {@code {"node", "time" (ms), "connections", "subscriptions", "channels", "workers",
 *       "broadcasts", "delivered", "dropped"}}; the page turns successive samples into rates.</li>
 * </ul>
 */
final class Console {
  static final String ROOT = "/console";
  /**
   * The page's classpath folder. Vert.x looks in the working directory before the classpath,
   * so the name is one no operator's directory is likely to have.
   */
  private static final String RESOURCES = "io/webrocket/console";

  /** Pages may load only their own scripts and styles, and may not be framed. */
  private static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

  private final String nodeName;
  private final Metrics metrics;
  /** The cluster as the admin endpoint reports it ({@code GET /cluster}). */
  private final java.util.function.Supplier<io.vertx.core.Future<JsonObject>> cluster;

  Console(String nodeName, Metrics metrics, java.util.function.Supplier<io.vertx.core.Future<JsonObject>> cluster) {
    this.cluster = cluster;
    this.nodeName = nodeName;
    this.metrics = metrics;
  }

  /**
   * Adds the console routes; they must come before the router's catch-all cookie check. Only
   * GET is taken under {@code /console}: other methods reach WARI, which refuses the name.
   */
  void mount(Router r, Handler<RoutingContext> checkCookie) {
    r.route(ROOT + "/api/*").handler(checkCookie);
    r.get(ROOT + "/api/node").handler(this::node);
    r.get(ROOT + "/api/stats").handler(this::stats);
    r.route(ROOT + "/api/*").handler(ctx -> ctx.response().setStatusCode(404)
        .end(new JsonObject().put("error", "not found").encode()));
    r.get(ROOT + "/*").handler(ctx -> {
      if (ctx.request().path().equals(ROOT)) { // relative links in the page need the slash
        ctx.response().setStatusCode(301).putHeader("Location", ROOT + "/").end();
        return;
      }
      ctx.response().putHeader("Content-Security-Policy", CSP)
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("Referrer-Policy", "no-referrer");
      ctx.next();
    });
    r.get(ROOT + "/*").handler(StaticHandler.create(RESOURCES).setCachingEnabled(false).setIndexPage("index.html"));
    r.get(ROOT + "/*").handler(ctx -> ctx.response().setStatusCode(404).end());
  }

  private void node(RoutingContext ctx) {
    cluster.get().onComplete(c -> {
      JsonArray members = new JsonArray();
      String leader = null;
      for (Object o : c.getJsonArray("members")) {
        JsonObject m = (JsonObject) o;
        members.add(m.getString("name"));
        if (m.getBoolean("leader", false)) {
          leader = m.getString("name");
        }
      }
      ctx.response().end(new JsonObject().put("node", nodeName).put("members", members).put("leader", leader).encode());
    }, err -> ctx.response().setStatusCode(500).end(new JsonObject().put("error", "cluster status unavailable").encode()));
  }

  private void stats(RoutingContext ctx) {
    ctx.response().end(new JsonObject()
        .put("node", nodeName)
        .put("time", System.currentTimeMillis())
        .put("connections", (long) metrics.total(Metrics.CONNECTIONS))
        .put("subscriptions", (long) metrics.total(Metrics.SUBSCRIPTIONS))
        .put("channels", (long) metrics.total(Metrics.CHANNELS))
        .put("workers", (long) metrics.total(Metrics.WORKERS))
        .put("broadcasts", (long) metrics.total(Metrics.BROADCASTS))
        .put("delivered", (long) metrics.total(Metrics.DELIVERED))
        .put("dropped", (long) metrics.total(Metrics.DROPPED))
        .encode());
  }
}
