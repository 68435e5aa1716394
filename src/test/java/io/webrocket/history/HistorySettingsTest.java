package io.webrocket.history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.config.Settings;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The history settings: patterns, first match, defaults and every refusal. */
@Tag("fast")
class HistorySettingsTest {
  private static HistorySettings parse(JsonObject rules) {
    return HistorySettings.parse(new JsonObject().put("history", HistorySettings.defaults())
        .put("vhosts", new JsonObject().put("/demo", new JsonObject().put("history", rules))));
  }

  @Test
  void patternsMatchTheWholeNameAndTheFirstOneWins() {
    HistorySettings s = parse(new JsonObject()
        .put("chat*", new JsonObject().put("size", 1000).put("lifetimeMs", 300_000))
        .put("*", new JsonObject().put("size", 5))
        .put("x.y", new JsonObject().put("size", 7)));
    assertEquals(1000, s.policy("/demo", "chat").size());
    assertEquals(1000, s.policy("/demo", "chat-room").size());
    assertEquals(5, s.policy("/demo", "xchat").size(), "a pattern matches the whole name");
    assertEquals(5, s.policy("/demo", "x.y").size(), "declaration order: * comes first");
    assertEquals(300_000L, s.policy("/demo", "other").lifetimeMs() == 300_000 ? 300_000L : -1L, "default lifetime");
    assertNull(s.policy("/other", "chat"));
  }

  @Test
  void dotsAreLiteral() {
    HistorySettings s = parse(new JsonObject().put("a.b*", new JsonObject()));
    assertEquals(100, s.policy("/demo", "a.bc").size(), "default size");
    assertNull(s.policy("/demo", "axbc"));
  }

  @Test
  void badRulesAreRefusedNamingTheKey() {
    for (Object[] bad : new Object[][] {
        {"chat", new JsonObject().put("size", 0)},
        {"chat", new JsonObject().put("size", 200_000)},
        {"chat", new JsonObject().put("lifetimeMs", 10)},
        {"chat", new JsonObject().put("colour", "red")},
        {"chat", "big"},
        {"ch at", new JsonObject()},
        {"", new JsonObject()}}) {
      Settings.InvalidException e = assertThrows(Settings.InvalidException.class,
          () -> parse(new JsonObject().put((String) bad[0], bad[1])), String.valueOf(bad[1]));
      assertTrue(e.getMessage().startsWith("vhosts./demo.history"), e.getMessage());
    }
  }

  @Test
  void theNodeSectionIsCheckedByTheConfiguration() {
    assertThrows(Settings.InvalidException.class, () -> Settings.resolve(
        new JsonObject().put("history", new JsonObject().put("reorderWindowMs", 0)), java.util.Map.of(), java.util.Map.of(), null));
    JsonObject c = Settings.resolve(new JsonObject().put("vhosts", new JsonObject().put("/demo",
        new JsonObject().put("history", new JsonObject().put("chat*", new JsonObject().put("size", 10))))),
        java.util.Map.of(), java.util.Map.of(), null);
    assertEquals(10, HistorySettings.parse(c).policy("/demo", "chat").size());
  }
}
