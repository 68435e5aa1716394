package io.webrocket.hardening;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.webrocket.protocol.Wbp;
import io.webrocket.protocol.WbpDecoder;
import io.webrocket.protocol.WbpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Properties of the WBP decoder, request parser and encoder over generated input (see {@link Property}). */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class WbpPropertiesTest {
  /** What a decoder reported: each message's frames, and "OVERSIZE" where the limit was hit. */
  static List<Object> decode(byte[] bytes, int maxMessageSize, int[] cuts) {
    List<Object> events = new ArrayList<>();
    WbpDecoder d = new WbpDecoder(maxMessageSize, events::add, () -> events.add("OVERSIZE"));
    int from = 0;
    for (int cut : cuts) {
      d.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, from, cut)));
      from = cut;
    }
    d.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, from, bytes.length)));
    return events;
  }

  /** Random split points of {@code length} bytes, sorted: empty chunks and one-byte chunks included. */
  static int[] chunking(Random r, int length) {
    int[] cuts = new int[r.nextInt(Math.min(length, 40) + 1)];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = r.nextInt(length + 1);
    }
    java.util.Arrays.sort(cuts);
    return cuts;
  }

  /** Bytes that look like WBP often enough to reach every branch: CR, LF, the end marker, identities, junk. */
  static byte[] anyBytes(Random r) {
    String[] pieces = {"\n", "\r\n", "\r", "\r\n\r\n", "\n\r\n\r\n", "req:/v:" + "a".repeat(40) + ":" + UUID.randomUUID(),
        "BC", "OC", "KA", "AT", ":", "chat", "{\"a\":1}", "\u00e9", "\uD83D\uDE00"};
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    for (int i = r.nextInt(60); i > 0; i--) {
      if (r.nextInt(4) == 0) {
        byte[] junk = new byte[r.nextInt(300)];
        r.nextBytes(junk);
        b.writeBytes(junk);
      } else {
        b.writeBytes(Property.oneOf(r, pieces).getBytes(StandardCharsets.UTF_8));
      }
    }
    return b.toByteArray();
  }

  /**
   * Any bytes, in any chunking: messages or one oversize report (then nothing more), never an
   * exception, the same events however the bytes were cut; every message parses as a request.
   */
  @Test
  void anyBytesInAnyChunkingYieldMessagesOrTheOversizeReport() {
    Property.forAll(2_000, r -> new Object[] {anyBytes(r), 16 + r.nextInt(r.nextBoolean() ? 200 : 20_000), r.nextLong()}, in -> {
      byte[] bytes = (byte[]) in[0];
      int max = (Integer) in[1];
      List<Object> whole = decode(bytes, max, new int[0]);
      Random r = new Random((Long) in[2]);
      for (int k = 0; k < 3; k++) {
        assertEquals(whole, decode(bytes, max, chunking(r, bytes.length)), "max " + max);
      }
      int oversize = whole.indexOf("OVERSIZE");
      assertTrue(oversize < 0 || oversize == whole.size() - 1, "nothing after the oversize report: " + whole);
      for (Object e : whole) {
        if (e instanceof List<?> frames) {
          @SuppressWarnings("unchecked")
          List<String> f = (List<String>) frames;
          assertTrue(!f.isEmpty());
          WbpRequest req = WbpRequest.parse(f);
          assertTrue(req.command() != null && req.args() != null);
          Wbp.encode(req.command(), req.args().toArray(new String[0])); // and the broker can write anything back
        }
      }
    });
  }

  /** What the broker writes, a client's decoder reads back: the command, then the frames (or one empty frame). */
  @Test
  void decodeOfEncodeIsIdentity() {
    Property.forAll(2_000, r -> {
      List<String> m = new ArrayList<>();
      m.add(line(r, true, false));
      for (int i = r.nextInt(6); i > 0; i--) {
        m.add(line(r, false, false));
      }
      return new Object[] {m, r.nextLong()};
    }, in -> {
      @SuppressWarnings("unchecked")
      List<String> m = (List<String>) in[0];
      byte[] wire = Wbp.encode(m.get(0), m.subList(1, m.size()).toArray(new String[0])).getBytes();
      List<String> expected = new ArrayList<>(m);
      if (m.size() == 1) {
        expected.add(""); // "OK\n\n\r\n\r\n": the empty frame clients count on
      }
      Random r = new Random((Long) in[1]);
      assertEquals(List.of(expected), decode(wire, 1 << 20, chunking(r, wire.length)));
    });
  }

  /** A client request (Go/Ruby framing, or the Java client's extra lines) parses back to its identity, command and arguments. */
  @Test
  void parseOfAClientRequestIsIdentity() {
    Property.forAll(2_000, r -> {
      WbpRequest.Identity id = r.nextInt(4) == 0 ? null : new WbpRequest.Identity(Property.oneOf(r, "req", "dlr"),
          Property.oneOf(r, "/v", "/a/b-c/d_e", "/" + "x".repeat(1 + r.nextInt(30))),
          HexFormat.of().formatHex(new byte[20]).replace('0', Property.charOf(r, "0123456789abcdefABCDEF")),
          UUID.randomUUID().toString());
      List<String> args = new ArrayList<>();
      for (int i = r.nextInt(5); i > 0; i--) {
        args.add(line(r, false, true));
      }
      if (!args.isEmpty() && args.get(args.size() - 1).isEmpty()) {
        args.set(args.size() - 1, "x"); // trailing empty arguments are dropped by design
      }
      // A first frame with ':' is an identity line: a command never has one.
      return new WbpRequest(id, false, frame(line(r, true, false).replace(":", ""), true), List.copyOf(args));
    }, req -> {
      String identity = req.identity() == null ? null : String.join(":", req.identity().type(), req.identity().vhost(),
          req.identity().token(), req.identity().id());
      List<String> frames = new ArrayList<>();
      frames.add(req.command());
      frames.addAll(req.args());
      String go = io.webrocket.test.WbpClient.message(identity, frames.toArray(new String[0]));
      String java = (identity == null ? "" : identity + "\n\n") + String.join("\n", frames) + "\n\n\r\n\r\n\n";
      for (String wire : List.of(go, java, go + go)) {
        List<Object> events = decode(wire.getBytes(StandardCharsets.UTF_8), 1 << 20, new int[0]);
        assertTrue(!events.isEmpty() && !events.contains("OVERSIZE"), wire);
        for (Object e : events) {
          @SuppressWarnings("unchecked")
          WbpRequest back = WbpRequest.parse((List<String>) e);
          assertEquals(req, back, wire);
        }
      }
    });
  }

  /**
   * A frame as WBP can carry it: no {@code \n}, no trailing {@code \r} (a line loses one);
   * {@code first}: the first line of a message, which is never empty.
   */
  static String line(Random r, boolean first, boolean mayBeEmpty) {
    String s = switch (r.nextInt(4)) {
      case 0 -> Property.oneOf(r, "BC", "OC", "CC", "AT", "KA", "RD", "HB", "QT", "OK", "ER", "TR");
      case 1 -> Property.text(r, 30);
      case 2 -> "{\"k\":\"" + Property.text(r, 10) + "\",\"r\":\"a\\rb\"}";
      default -> mayBeEmpty && r.nextBoolean() ? "" : Property.text(r, 3) + "\r" + Property.text(r, 3);
    };
    return frame(s, first);
  }

  static String frame(String line, boolean first) {
    String s = line.replace("\n", "");
    while (s.endsWith("\r")) {
      s = s.substring(0, s.length() - 1);
    }
    if (first && s.isEmpty()) {
      s = "CMD";
    }
    return s;
  }
}
