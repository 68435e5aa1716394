package io.webrocket.presence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.webrocket.bus.Addresses;
import io.webrocket.bus.Bus;
import io.webrocket.bus.FrameCodec;
import io.webrocket.config.PresenceSettings;
import io.webrocket.protocol.Frame;
import io.webrocket.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * This node's presence service on an in-process event bus, no sockets: the real {@link
 * PresenceService} (with the one-node grid) used only through {@link PresenceClient}, as the
 * browser endpoint uses it, and what it hands the endpoints to write ({@link Addresses#fanout()},
 * in the channel's order, numbered). The WWFP side of the same rules, over real sockets, is
 * {@code frontend.PresenceTest}.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PresenceServiceTest {
  private static final String VHOST = "/v";
  private static final String CHANNEL = "presence-room";

  /** What the service handed this node's endpoints: "seq event-json", in arrival order. */
  private final LinkedBlockingQueue<String> forwarded = new LinkedBlockingQueue<>();
  private PresenceClient presence;

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    vertx.eventBus().registerDefaultCodec(Frame.class, new FrameCodec());
    presence = new PresenceClient(vertx);
    vertx.eventBus().<Frame>localConsumer(Addresses.fanout(), m -> {
      if (CHANNEL.equals(m.headers().get(Addresses.CHANNEL))) {
        forwarded.add(m.headers().get(Addresses.SEQ) + " " + json(m.body()));
      }
    }).completion()
        .compose(x -> vertx.deployVerticle(new PresenceService(new PresenceSettings(2_000, 4_096), null)))
        .onComplete(ctx.succeedingThenComplete());
  }

  /** The WWFP event a frame carries (its payload: a server frame has no mask). */
  private static String json(Frame f) {
    byte[] w = f.wire();
    int header = (w[1] & 0x7f) < 126 ? 2 : (w[1] & 0x7f) == 126 ? 4 : 10;
    return new String(Arrays.copyOfRange(w, header, w.length), StandardCharsets.UTF_8);
  }

  private static JsonObject event(String name, JsonObject data) {
    return new JsonObject().put(name, data);
  }

  private String nextForwarded() throws InterruptedException {
    String s = forwarded.poll(10, TimeUnit.SECONDS);
    assertNotNull(s, "nothing handed to the endpoints within 10 s");
    return s;
  }

  @Test
  void aJoinListsTheMembersBeforeItAndIsAnnouncedOnceInOrder() throws Exception {
    Presence.Joined alice = presence.join(VHOST, CHANNEL, "s1", "alice", new JsonObject().put("mood", "fine"), false)
        .await(10, TimeUnit.SECONDS);
    assertEquals(new JsonArray(), new JsonArray(alice.members()), "the first member sees nobody before it");
    assertEquals(event(":memberJoined", new JsonObject().put("uid", "alice").put("channel", CHANNEL).put("mood", "fine")),
        new JsonObject(json(alice.announcement())));

    Presence.Joined bob = presence.join(VHOST, CHANNEL, "s2", "bob", null, false).await(10, TimeUnit.SECONDS);
    assertEquals(new JsonArray().add(new JsonObject().put("uid", "alice").put("mood", "fine")), new JsonArray(bob.members()));
    assertEquals(alice.since() + 1, bob.since(), "one number per visible change");

    // Joining again changes and announces nothing.
    Presence.Joined again = presence.join(VHOST, CHANNEL, "s1", "alice", null, false).await(10, TimeUnit.SECONDS);
    assertNull(again.announcement());

    // The endpoints get each announcement once, numbered, in the channel's order.
    assertEquals(alice.since() + " " + event(":memberJoined",
        new JsonObject().put("uid", "alice").put("channel", CHANNEL).put("mood", "fine")).encode(), nextForwarded());
    assertEquals(bob.since() + " " + event(":memberJoined",
        new JsonObject().put("uid", "bob").put("channel", CHANNEL)).encode(), nextForwarded());
  }

  @Test
  void aHiddenMemberIsNeitherListedNorAnnounced() throws Exception {
    Presence.Joined ghost = presence.join(VHOST, CHANNEL, "s0", "ghost", null, true).await(10, TimeUnit.SECONDS);
    assertNull(ghost.announcement());
    Presence.Joined carol = presence.join(VHOST, CHANNEL, "s1", "carol", null, false).await(10, TimeUnit.SECONDS);
    assertEquals(new JsonArray(), new JsonArray(carol.members()), "the hidden member is not listed");
    Presence.Joined dave = presence.join(VHOST, CHANNEL, "s2", "dave", null, false).await(10, TimeUnit.SECONDS);
    assertEquals(new JsonArray().add(new JsonObject().put("uid", "carol")), new JsonArray(dave.members()));
    presence.leave(VHOST, List.of(CHANNEL), "s0", null).await(10, TimeUnit.SECONDS);
    presence.leave(VHOST, List.of(CHANNEL), "s1", new JsonObject().put("reason", "bye")).await(10, TimeUnit.SECONDS);
    // Numbers go to visible changes only, and nothing came of the ghost's join or leave: carol's
    // join, dave's, then carol's leave are what is forwarded, numbered one after another.
    assertEquals(carol.since() + " " + event(":memberJoined",
        new JsonObject().put("uid", "carol").put("channel", CHANNEL)).encode(), nextForwarded());
    assertEquals((carol.since() + 1) + " " + event(":memberJoined",
        new JsonObject().put("uid", "dave").put("channel", CHANNEL)).encode(), nextForwarded());
    assertEquals((dave.since() + 1) + " " + event(":memberLeft",
        new JsonObject().put("uid", "carol").put("channel", CHANNEL).put("reason", "bye")).encode(), nextForwarded());
  }

  @Test
  void aClosedChannelForgetsItsMembers(Vertx vertx) throws Exception {
    presence.join(VHOST, CHANNEL, "s1", "alice", null, false).await(10, TimeUnit.SECONDS);
    vertx.eventBus().publish(Addresses.events(),
        new JsonObject().put("type", "channelClosed").put("vhost", VHOST).put("channel", CHANNEL));
    // The close is handled in order with the requests that follow it on the same loop.
    Presence.Joined bob = presence.join(VHOST, CHANNEL, "s2", "bob", null, false).await(10, TimeUnit.SECONDS);
    assertEquals(new JsonArray(), new JsonArray(bob.members()), "alice went with the channel");
  }

  @Test
  void anUnknownRequestIsABadRequest(Vertx vertx, VertxTestContext ctx) {
    Future<?> reply = Bus.request(vertx, Addresses.presence(), "nonsense", new JsonObject());
    reply.onComplete(ctx.failing(err -> ctx.verify(() -> {
      assertEquals(Status.BAD_REQUEST, Bus.statusOf(err, Status.NOT_FOUND));
      ctx.completeNow();
    })));
  }
}
