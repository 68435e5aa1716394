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
 *   <li>{@code GET /console/api/node}: {@code {"node": NAME, "members": [NAME, ...]}}</li>
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

  Console(String nodeName, Metrics metrics) {
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
    // A single node for now; a clustered node will list the cluster's members here.
    ctx.response().end(new JsonObject()
        .put("node", nodeName)
        .put("members", new JsonArray().add(nodeName))
        .encode());
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
