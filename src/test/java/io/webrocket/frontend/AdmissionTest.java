package io.webrocket.frontend;

import io.webrocket.config.LimitsSettings;
import io.webrocket.config.Settings;
import io.webrocket.config.VhostSettings;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Admission}'s connection counts, which every endpoint instance of a node shares (each
 * on its own event loop, so on its own thread): threads stand for the instances and race for
 * the last places. Bounded: a fixed number of rounds.
 */
@Tag("fast")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdmissionTest {
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  static LimitsSettings limits(int perNode, int perVhost) {
    return limits(new JsonObject().put("connectionsPerNode", perNode).put("connectionsPerVhost", perVhost)
        .put("handshakesInFlight", 64));
  }

  /** The default limits with {@code overrides}, parsed as the node parses them. */
  static LimitsSettings limits(JsonObject overrides) {
    JsonObject c = Settings.defaults();
    c.getJsonObject("limits").mergeIn(overrides);
    return Settings.parse(c).limits();
  }

  /** Declared vhosts, parsed as the node parses them. */
  static Map<String, VhostSettings> vhosts(JsonObject declared) {
    JsonObject c = Settings.defaults();
    c.put("vhosts", declared);
    return Settings.parse(c).vhosts();
  }

  static Admission admission(LocalMap<String, Integer> counts, LimitsSettings limits) {
    Admission a = new Admission(counts, 4);
    a.configure(limits, Map.of(), List.of());
    return a;
  }

  @Test
  void instancesRacingForTheLastPlacesNeverOvershootTheNodeLimit() throws Exception {
    int threads = 4;
    int limit = 50;
    for (int round = 0; round < 200; round++) {
      LocalMap<String, Integer> counts = vertx.sharedData().getLocalMap("admission-test-node-" + round);
      AtomicInteger admitted = new AtomicInteger();
      CyclicBarrier start = new CyclicBarrier(threads);
      List<Thread> racers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Admission instance = admission(counts, limits(limit, 1_000));
        String vhost = "/v" + t;
        Thread racer = new Thread(() -> {
          try {
            start.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          for (int i = 0; i < limit; i++) {
            if (instance.admit(vhost)) {
              admitted.incrementAndGet();
            }
          }
        });
        racers.add(racer);
        racer.start();
      }
      for (Thread racer : racers) {
        racer.join();
      }
      assertEquals(limit, admitted.get(), "round " + round + ": exactly the limit is admitted");
      assertEquals(limit, admission(counts, limits(limit, 1_000)).open());
      counts.close();
    }
  }

  @Test
  void instancesRacingForOneVhostNeverOvershootItsLimit() throws Exception {
    int threads = 4;
    int limit = 20;
    for (int round = 0; round < 200; round++) {
      LocalMap<String, Integer> counts = vertx.sharedData().getLocalMap("admission-test-vhost-" + round);
      AtomicInteger admitted = new AtomicInteger();
      CyclicBarrier start = new CyclicBarrier(threads);
      List<Thread> racers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Admission instance = admission(counts, limits(1_000, limit));
        racers.add(new Thread(() -> {
          try {
            start.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          for (int i = 0; i < limit; i++) {
            if (instance.admit("/same")) {
              admitted.incrementAndGet();
            }
          }
        }));
      }
      racers.forEach(Thread::start);
      for (Thread racer : racers) {
        racer.join();
      }
      assertEquals(limit, admitted.get(), "round " + round);
      assertEquals(limit, counts.get("/same"));
      assertEquals(limit, counts.get(""), "a vhost refusal gives its node place back");
      counts.close();
    }
  }

  @Test
  void releaseFreesThePlaceAndForgetsAnEmptyVhost() {
    LocalMap<String, Integer> counts = vertx.sharedData().getLocalMap("admission-test-release");
    Admission a = admission(counts, limits(2, 1));
    assertTrue(a.admit("/a"));
    assertFalse(a.admit("/a"), "over the vhost limit");
    assertEquals(1, a.open(), "the refused one took no node place");
    assertTrue(a.admit("/b"));
    assertFalse(a.admit("/c"), "over the node limit");
    a.release("/a");
    assertFalse(counts.containsKey("/a"));
    assertTrue(a.admit("/c"));
    counts.close();
  }

  @Test
  void originsOfADeclaredVhostReplaceTheNodesList() {
    Admission a = new Admission(vertx.sharedData().getLocalMap("admission-test-origins"), 1);
    a.configure(limits(1, 1), vhosts(new JsonObject().put("/own", new JsonObject().put("origins", new JsonArray().add("https://own")))),
        List.of("https://node"));
    assertTrue(a.originAllowed("/other", "https://node"));
    assertFalse(a.originAllowed("/other", "https://own"));
    assertTrue(a.originAllowed("/own", "https://own"));
    assertFalse(a.originAllowed("/own", "https://node"));
    assertFalse(a.originAllowed("/other", null), "a list requires an Origin");
  }

  @Test
  void handshakesInFlightAreSharedOutOverTheInstances() {
    Admission a = new Admission(vertx.sharedData().getLocalMap("admission-test-handshakes"), 4);
    a.configure(limits(new JsonObject().put("handshakesInFlight", 8)), Map.of(), List.of());
    assertTrue(a.handshakeStarted());
    assertTrue(a.handshakeStarted());
    assertFalse(a.handshakeStarted(), "8 over 4 instances: 2 each");
    a.handshakeEnded();
    assertTrue(a.handshakeStarted());
  }
}
