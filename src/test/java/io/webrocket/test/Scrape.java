package io.webrocket.test;

import java.net.http.HttpResponse;

/** Reads the node's Prometheus text at {@code /metrics} on the admin endpoint. */
public final class Scrape {
  private Scrape() {}

  /** The sum of every sample of {@code name} (all label sets); 0 if there is none. */
  public static double sum(TestNode node, String name) {
    HttpResponse<String> r = node.admin().call("GET", "/metrics", null);
    if (r.statusCode() != 200) {
      throw new IllegalStateException("/metrics -> " + r.statusCode());
    }
    double total = 0;
    for (String line : r.body().split("\n")) {
      if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
        total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }
}
