package io.webrocket.protocol;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Status;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The WWFP codec on raw text: what decodes to which message, what is malformed, what encodes to which bytes. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class WwfpCodecTest {

  private static Wwfp.Message decode(String text) {
    try {
      return Wwfp.decode(text);
    } catch (Wwfp.MalformedException e) {
      throw new AssertionError("rejected " + text + ": " + e.getMessage());
    }
  }

  private static void malformed(String text) {
    assertThrows(Wwfp.MalformedException.class, () -> Wwfp.decode(text), text);
  }

  // ---- decode: accepted ----

  @Test
  void decodesEventAndPayload() {
    Wwfp.Message m = decode("{\"subscribe\":{\"channel\":\"chat\"}}");
    assertEquals("subscribe", m.event());
    assertEquals(new JsonObject().put("channel", "chat"), m.payload());
  }

  @Test
  void emptyPayloadIsAnEmptyObject() {
    Wwfp.Message m = decode("{\"pong\":{}}");
    assertEquals("pong", m.event());
    assertTrue(m.payload().isEmpty());
  }

  @Test
  void whitespaceAroundTokensIsAllowed() {
    Wwfp.Message m = decode(" \r\n\t{ \"close\" :\n{ \"a\" : [ 1 , 2 ] } }\n ");
    assertEquals("close", m.event());
    assertEquals(new JsonObject().put("a", new JsonArray().add(1).add(2)), m.payload());
  }

  @Test
  void everyJsonValueTypeSurvives() {
    Wwfp.Message m = decode("{\"e\":{\"s\":\"x\",\"i\":-3,\"f\":1.5,\"exp\":1e3,\"t\":true,\"no\":false,\"n\":null,"
        + "\"a\":[1,\"2\",[3],{\"k\":{}}],\"o\":{\"p\":{\"q\":[]}}}}");
    JsonObject p = m.payload();
    assertEquals("x", p.getString("s"));
    assertEquals(-3, p.getInteger("i"));
    assertEquals(1.5, p.getDouble("f"));
    assertEquals(1000.0, p.getDouble("exp"));
    assertEquals(true, p.getBoolean("t"));
    assertEquals(false, p.getBoolean("no"));
    assertTrue(p.containsKey("n") && p.getValue("n") == null);
    assertEquals(new JsonArray().add(1).add("2").add(new JsonArray().add(3)).add(new JsonObject().put("k", new JsonObject())),
        p.getJsonArray("a"));
    assertEquals(new JsonObject().put("p", new JsonObject().put("q", new JsonArray())), p.getJsonObject("o"));
  }

  @Test
  void bigIntegersKeepTheirValue() {
    Wwfp.Message m = decode("{\"e\":{\"big\":123456789012345678901234567890,\"long\":9007199254740993}}");
    assertEquals(new BigInteger("123456789012345678901234567890"), m.payload().getValue("big"));
    assertEquals(9007199254740993L, m.payload().getLong("long"));
  }

  @Test
  void escapesAndUnicodeAreDecoded() {
    Wwfp.Message m = decode("{\"\\u00e9v\\\"t\":{\"s\":\"a\\nb\\u0000c\\uD83D\\uDE00 \u00e9\",\"k\\\\\":1}}");
    assertEquals("\u00e9v\"t", m.event());
    assertEquals("a\nb\u0000c\uD83D\uDE00 \u00e9", m.payload().getString("s"));
    assertEquals(1, m.payload().getInteger("k\\"));
  }

  @Test
  void eventNameIsTakenAsIs() {
    // The codec only checks the shape; which names are events is the connection's business.
    assertEquals("", decode("{\"\":{}}").event());
    assertEquals(":connected", decode("{\":connected\":{}}").event());
  }

  @Test
  void nestingUpToTheLimitIsAccepted() {
    // The payload is depth 1; 63 more levels reach the limit of 64.
    String deep = "{\"a\":".repeat(63) + "{}" + "}".repeat(63);
    Wwfp.Message m = decode("{\"e\":" + deep + "}");
    assertEquals("e", m.event());
  }

  // ---- decode: malformed ----

  @Test
  void notJsonIsMalformed() {
    for (String text : List.of("", " ", "x", "{", "}", "{\"e\"", "{\"e\":", "{\"e\":{}", "{\"e\":{}}}",
        "{'e':{}}", "{e:{}}", "{\"e\":{\"a\":}}", "{\"e\":{\"a\":1,}}", "{\"e\":{},}", "{\"e\":{\"a\":NaN}}",
        "{\"e\":{\"a\":01}}", "{\"e\":{\"a\":\"\u0001\"}}", "/*c*/{\"e\":{}}", "{\"e\":{}}//c", "\uFEFF{\"e\":{}}")) {
      malformed(text);
    }
  }

  @Test
  void notAnObjectIsMalformed() {
    for (String text : List.of("[]", "[{\"e\":{}}]", "\"e\"", "1", "-1.5", "true", "false", "null")) {
      malformed(text);
    }
  }

  @Test
  void zeroKeysIsMalformed() {
    malformed("{}");
    malformed(" { } ");
  }

  @Test
  void twoKeysAreMalformed() {
    malformed("{\"a\":{},\"b\":{}}");
    malformed("{\"a\":{},\"b\":1}");
  }

  @Test
  void payloadNotAnObjectIsMalformed() {
    for (String payload : List.of("[]", "[{}]", "\"x\"", "\"{}\"", "0", "1.5", "true", "false", "null")) {
      malformed("{\"e\":" + payload + "}");
    }
  }

  @Test
  void duplicateKeysAreMalformedAtEveryLevel() {
    malformed("{\"e\":{},\"e\":{}}");
    malformed("{\"e\":{\"a\":1,\"a\":1}}");
    malformed("{\"e\":{\"a\":{\"b\":1,\"b\":2}}}");
    malformed("{\"e\":{\"a\":[{\"b\":1,\"b\":2}]}}");
  }

  @Test
  void trailingContentIsMalformed() {
    for (String tail : List.of("x", "{}", "{\"e\":{}}", "[]", "1", "null", "\"\"")) {
      malformed("{\"e\":{}}" + tail);
      malformed("{\"e\":{}} " + tail);
    }
  }

  @Test
  void nestingBeyondTheLimitIsMalformed() {
    malformed("{\"e\":" + "{\"a\":".repeat(64) + "{}" + "}".repeat(64) + "}");
    malformed("{\"e\":{\"a\":" + "[".repeat(64) + "]".repeat(64) + "}}");
    // Hostile depth fails cleanly, without exhausting the stack.
    malformed("{\"e\":{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}}");
    malformed("{\"e\":" + "{\"a\":".repeat(100_000) + "{}" + "}".repeat(100_000) + "}");
  }

  // ---- encode ----

  @Test
  void encodesOneKeyObject() {
    assertEquals("{\":subscribed\":{\"channel\":\"chat\"}}",
        Wwfp.encode(":subscribed", new JsonObject().put("channel", "chat")));
    assertEquals("{\":authenticated\":{}}", Wwfp.encode(":authenticated", new JsonObject()));
  }

  @Test
  void encodeBufferIsTheSameMessage() {
    JsonObject p = new JsonObject().put("s", "\u00e9\uD83D\uDE00").put("n", 1);
    Wwfp.Message m = decode(Wwfp.encodeBuffer("e", p).toString(StandardCharsets.UTF_8));
    assertEquals("e", m.event());
    assertEquals(p, m.payload());
  }

  @Test
  void encodesErrorsWithCodeAndStatusText() {
    assertEquals("{\":error\":{\"code\":400,\"status\":\"Bad request\"}}", Wwfp.error(Status.BAD_REQUEST));
    assertEquals("{\":error\":{\"code\":402,\"status\":\"Unauthorized\"}}", Wwfp.error(Status.UNAUTHORIZED));
    assertEquals("{\":error\":{\"code\":403,\"status\":\"Forbidden\"}}", Wwfp.error(Status.FORBIDDEN));
    assertEquals("{\":error\":{\"code\":451,\"status\":\"Invalid channel name\"}}", Wwfp.error(Status.INVALID_CHANNEL_NAME));
    assertEquals("{\":error\":{\"code\":453,\"status\":\"Not subscribed\"}}", Wwfp.error(Status.NOT_SUBSCRIBED));
    assertEquals("{\":error\":{\"code\":454,\"status\":\"Channel not found\"}}", Wwfp.error(Status.CHANNEL_NOT_FOUND));
    assertEquals("{\":error\":{\"code\":503,\"status\":\"Service unavailable\"}}", Wwfp.error(Status.SERVICE_UNAVAILABLE));
    assertEquals("{\":error\":{\"code\":597,\"status\":\"Internal error\"}}", Wwfp.error(Status.INTERNAL_ERROR));
  }

  @Test
  void userEventFromBrowserAddsChannelAndSidOverDataKeys() {
    JsonObject data = new JsonObject().put("channel", "fake").put("x", 1).put("sid", "fake");
    assertEquals("{\"msg\":{\"channel\":\"chat\",\"x\":1,\"sid\":\"S\"}}",
        Wwfp.userEvent("msg", data, "chat", "S").toString(StandardCharsets.UTF_8));
  }

  @Test
  void userEventFromBackendAddsChannelOnly() {
    JsonObject data = new JsonObject().put("x", 1).put("sid", "kept");
    assertEquals("{\"msg\":{\"x\":1,\"sid\":\"kept\",\"channel\":\"chat\"}}",
        Wwfp.userEvent("msg", data, "chat", null).toString(StandardCharsets.UTF_8));
    assertEquals("{\"msg\":{\"channel\":\"chat\"}}", Wwfp.userEvent("msg", null, "chat", null).toString(StandardCharsets.UTF_8));
  }

  @Test
  void encodingEscapesWhatJsonRequires() {
    String s = Wwfp.encode("e", new JsonObject().put("s", "q\"b\\n\nc\u0001</script>"));
    assertEquals("{\"e\":{\"s\":\"q\\\"b\\\\n\\nc\\u0001</script>\"}}", s);
  }

  @Test
  void whatIsEncodedDecodesBack() {
    JsonObject payload = new JsonObject()
        .put("s", "\u00e9\uD83D\uDE00\n\"")
        .put("n", 42)
        .put("d", 0.25)
        .put("b", false)
        .putNull("z")
        .put("a", new JsonArray().add(new JsonObject().put("k", "v")).add(new JsonArray()))
        .put("o", new JsonObject().put("p", new JsonObject()));
    Wwfp.Message m = decode(Wwfp.encode("some:event", payload));
    assertEquals("some:event", m.event());
    assertEquals(payload, m.payload());
  }

  @Test
  void aRawMemberIsSplicedAsItWouldHaveBeenEncoded() {
    JsonArray list = new JsonArray().add(new JsonObject().put("uid", "a\"b").put("n", 1)).add(new JsonObject().put("uid", "c"));
    JsonObject payload = new JsonObject().put("channel", "presence-x").put("uid", "me");
    String spliced = Wwfp.encodeWithRaw(":subscribed", payload.copy(), "subscribers", list.encode());
    assertEquals(Wwfp.encode(":subscribed", payload.copy().put("subscribers", list)), spliced);
    assertEquals("{\":subscribed\":{\"subscribers\":[]}}", Wwfp.encodeWithRaw(":subscribed", new JsonObject(), "subscribers", "[]"));
  }
}
