package io.webrocket.hardening;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Status;
import io.webrocket.protocol.Wwfp;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Properties of the WWFP codec over generated input (see {@link Property}). */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class WwfpPropertiesTest {
  static final String VALID = "{\"broadcast\":{\"channel\":\"chat\",\"event\":\"said\",\"data\":{\"a\":[1,2.5,true,null,{\"b\":\"c\"}]}}}";

  /** Any text: a message (event and payload present) or MalformedException; nothing else, ever. */
  @Test
  void anyStringDecodesToAMessageOrIsMalformed() {
    Property.forAll(3_000, WwfpPropertiesTest::anyText, text -> {
      try {
        Wwfp.Message m = Wwfp.decode(text);
        assertNotNull(m.event());
        assertNotNull(m.payload());
      } catch (Wwfp.MalformedException expected) {
        // the only failure allowed
      }
    });
  }

  static String anyText(Random r) {
    return switch (r.nextInt(6)) {
      case 0 -> Property.anyString(r, 200);
      case 1 -> Property.text(r, 200);
      case 2 -> tokenSoup(r);
      case 3 -> mutate(r, r.nextBoolean() ? VALID : Wwfp.encode(event(r), payload(r, 3)));
      case 4 -> nested(r);
      default -> Wwfp.encode(event(r), payload(r, 4)); // valid ones too
    };
  }

  /** JSON-looking fragments in any order. */
  static String tokenSoup(Random r) {
    String[] tokens = {"{", "}", "[", "]", ":", ",", "\"", "\"a\"", "\"\\u00", "\\", "1", "-0", "1e999", "0.5e-3",
        "true", "false", "null", " ", "\"subscribe\"", "{\"x\":{}}", "\uD800", "\u0000", "NaN", "'"};
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(40); i > 0; i--) {
      b.append(Property.oneOf(r, tokens));
    }
    return b.toString();
  }

  /** A few characters deleted, inserted, replaced, or the text cut. */
  static String mutate(Random r, String s) {
    StringBuilder b = new StringBuilder(s);
    for (int i = 1 + r.nextInt(4); i > 0 && b.length() > 0; i--) {
      int at = r.nextInt(b.length());
      switch (r.nextInt(4)) {
        case 0 -> b.deleteCharAt(at);
        case 1 -> b.insert(at, Property.charOf(r, "{}[]\":,\\ 0a"));
        case 2 -> b.setCharAt(at, (char) r.nextInt(0x10000));
        default -> b.setLength(at);
      }
    }
    return b.toString();
  }

  /** Deep nesting, balanced or not: no stack overflow. */
  static String nested(Random r) {
    int depth = 1 + r.nextInt(20_000);
    String open = r.nextBoolean() ? "[" : "{\"k\":";
    String close = open.equals("[") ? "]" : "}";
    return "{\"e\":" + open.repeat(depth) + (r.nextBoolean() ? "1" + close.repeat(depth) + "}" : "");
  }

  @Test
  void decodeOfEncodeIsIdentity() {
    Property.forAll(2_000, r -> new Wwfp.Message(event(r), payload(r, 4)), m -> {
      String wire = Wwfp.encode(m.event(), m.payload());
      Wwfp.Message back = decoded(wire);
      assertEquals(m.event(), back.event());
      assertEquals(m.payload(), back.payload(), wire);
      assertEquals(m.payload().encode(), back.payload().encode());
    });
  }

  @Test
  void aUserEventIsTheDataWithChannelAndSidWrittenOver() {
    Property.forAll(1_000, r -> new Object[] {event(r), payload(r, 3), Property.text(r, 20), r.nextBoolean() ? Property.text(r, 36) : null},
        in -> {
          String event = (String) in[0];
          JsonObject data = (JsonObject) in[1];
          JsonObject expected = data.copy().put("channel", in[2]);
          if (in[3] != null) {
            expected.put("sid", in[3]);
          }
          Wwfp.Message back = decoded(Wwfp.userEvent(event, data.copy(), (String) in[2], (String) in[3]).toString());
          assertEquals(event, back.event());
          assertEquals(expected, back.payload());
        });
  }

  @Test
  void everyErrorTheServerSendsDecodes() {
    for (Status s : Status.values()) {
      Wwfp.Message m = decoded(Wwfp.error(s));
      assertEquals(":error", m.event());
      assertEquals(s.code, m.payload().getInteger("code"));
      assertTrue(m.payload().getString("status").length() > 0);
    }
  }

  static Wwfp.Message decoded(String wire) {
    try {
      return Wwfp.decode(wire);
    } catch (Wwfp.MalformedException e) {
      throw new AssertionError("does not decode: " + wire, e);
    }
  }

  // ---- generators ----

  static String event(Random r) {
    return r.nextInt(4) == 0 ? Property.text(r, 30) : Property.oneOf(r, "auth", "subscribe", "broadcast", ":error", "e", "")
        + (r.nextBoolean() ? "" : Property.text(r, 5));
  }

  /** A JSON object as the codec yields them: strings, ints, longs, finite doubles, booleans, nulls, arrays, objects. */
  static JsonObject payload(Random r, int depth) {
    JsonObject o = new JsonObject();
    for (int i = r.nextInt(depth > 0 ? 5 : 3); i > 0; i--) {
      o.put(Property.text(r, 12), value(r, depth - 1));
    }
    return o;
  }

  static Object value(Random r, int depth) {
    switch (r.nextInt(depth > 0 ? 9 : 7)) {
      case 0:
        return Property.text(r, 40);
      case 1:
        return r.nextInt();
      case 2:
        return r.nextBoolean() ? r.nextLong() : (long) Integer.MAX_VALUE + 1 + r.nextInt(1000);
      case 3: {
        double d = Property.oneOf(r, r.nextDouble(), r.nextGaussian() * 1e300, -0.0, 1.0, Double.MIN_VALUE, Double.MAX_VALUE);
        return d;
      }
      case 4:
        return r.nextBoolean();
      case 5:
        return null;
      case 6:
        return "";
      case 7: {
        JsonArray a = new JsonArray();
        for (int i = r.nextInt(5); i > 0; i--) {
          a.add(value(r, depth - 1));
        }
        return a;
      }
      default:
        return payload(r, depth - 1);
    }
  }
}
