package io.webrocket.vhost;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A node's view on its own (no sockets): learnt only from answers, taken back by forgets, races resolved by generation. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class NodeViewTest {
  private final Vertx vertx = Vertx.vertx();
  private final NodeView view = new NodeView(vertx);

  @AfterEach
  void close() {
    vertx.close();
  }

  @Test
  void aChannelIsKnownOnceLearntAndUntilForgotten() {
    assertFalse(view.channelOpen("/v", "news"));
    assertTrue(view.learnChannel("/v", "news", view.generation("/v")));
    assertTrue(view.channelOpen("/v", "news"));
    assertFalse(view.channelOpen("/w", "news"));
    view.forgetChannel("/v", "news");
    assertFalse(view.channelOpen("/v", "news"));
  }

  @Test
  void anAnswerAskedBeforeAForgetIsNotLearnt() {
    long asked = view.generation("/v");
    view.forgetChannel("/v", "news"); // the channel was closed while the question was on its way
    assertFalse(view.learnChannel("/v", "news", asked));
    assertFalse(view.channelOpen("/v", "news"));
    assertFalse(view.learnToken("/v", "t0k3n", asked));
    assertFalse(view.tokenValid("/v", "t0k3n"));
  }

  @Test
  void tokensAreKeptAsHashesAndForgottenWithTheirVhost() {
    view.learnToken("/v", "secret-token", view.generation("/v"));
    view.learnChannel("/v", "a", view.generation("/v"));
    assertTrue(view.tokenValid("/v", "secret-token"));
    assertFalse(view.tokenValid("/v", "other"));
    assertFalse(view.tokenValid("/v", null));
    vertx.sharedData().<String, String>getLocalMap("webrocket.view.tokens")
        .forEach((k, v) -> assertFalse(v.contains("secret-token"), "no token in clear"));
    view.forgetToken("/v");
    assertFalse(view.tokenValid("/v", "secret-token"));
    assertTrue(view.channelOpen("/v", "a"));
    view.forgetVhost("/v");
    assertFalse(view.channelOpen("/v", "a"));
  }

  @Test
  void countsFollowLocalSubscribersAndVanishAtZero() {
    view.count("/v", "a", 1);
    view.count("/v", "a", 1);
    view.count("/v", "b", 1);
    view.count("/v", "b", -1);
    view.count("/w", "a", 1);
    assertEquals(Map.of("a", 2), view.counts("/v"));
  }

  @Test
  void workersAreListedInJoiningOrderOncePerId() {
    assertTrue(view.workerJoined("/v", "w2"));
    assertTrue(view.workerJoined("/v", "w1"));
    assertFalse(view.workerJoined("/v", "w1"));
    assertTrue(view.workerJoined("/x", "w3"));
    JsonArray listed = view.workers("/v");
    assertEquals(List.of("w2", "w1"), listed.stream().map(e -> ((JsonArray) e).getString(1)).toList());
    assertTrue(view.workerLeft("/v", "w2"));
    assertFalse(view.workerLeft("/v", "w2"));
  }
}
