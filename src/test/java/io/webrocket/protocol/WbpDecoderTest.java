package io.webrocket.protocol;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** WBP framing on raw bytes: whatever the segmentation, the same messages come out. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class WbpDecoderTest {
  private static final String ID = "req:/demo:0123456789abcdef0123456789abcdef01234567:6f1c1a8e-3a4b-4f7e-9b3c-2a0f5d7e8c91";
  private static final String WORKER = "dlr:/v:0123456789abcdef0123456789abcdef01234567:6f1c1a8e-3a4b-4f7e-9b3c-2a0f5d7e8c91";

  /** A decoder that records what it emits. */
  private static final class Recorder {
    final List<List<String>> messages = new ArrayList<>();
    int oversize;
    final WbpDecoder decoder;

    Recorder(int limit) {
      decoder = new WbpDecoder(limit, messages::add, () -> oversize++);
    }

    Recorder feed(byte[] bytes) {
      decoder.feed(Buffer.buffer(bytes));
      return this;
    }

    Recorder feed(String s) {
      return feed(s.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static List<List<String>> decodeInPieces(byte[] bytes, int... cuts) {
    Recorder r = new Recorder(1 << 20);
    int from = 0;
    for (int cut : cuts) {
      r.feed(Arrays.copyOfRange(bytes, from, cut));
      from = cut;
    }
    r.feed(Arrays.copyOfRange(bytes, from, bytes.length));
    assertEquals(0, r.oversize);
    return r.messages;
  }

  private static List<List<String>> decode(String s) {
    return decodeInPieces(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Asserts {@code s} decodes to {@code expected} when cut at every byte boundary, and byte by byte. */
  private static void assertDecodesAtEveryBoundary(String s, List<List<String>> expected) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    assertEquals(expected, decodeInPieces(bytes));
    for (int cut = 1; cut < bytes.length; cut++) {
      assertEquals(expected, decodeInPieces(bytes, cut), "cut at " + cut);
    }
    for (int cut = 1; cut + 1 < bytes.length; cut += 3) {
      int second = Math.min(bytes.length - 1, cut + 1 + (cut % 5));
      assertEquals(expected, decodeInPieces(bytes, cut, second), "cuts at " + cut + ", " + second);
    }
    int[] every = new int[bytes.length - 1];
    Arrays.setAll(every, i -> i + 1);
    assertEquals(expected, decodeInPieces(bytes, every), "byte by byte");
  }

  @Test
  void specExampleDecodesToFrames() {
    String s = ID + "\n\nBC\nchat\nmessage\n{\"text\":\"hi\"}\n\r\n\r\n";
    assertEquals(List.of(List.of(ID, "", "BC", "chat", "message", "{\"text\":\"hi\"}")), decode(s));
  }

  @Test
  void messageSplitAtEveryByteBoundaryDecodesTheSame() {
    String s = ID + "\n\nBC\nchat\nmessage\n{\"text\":\"hi\"}\n\r\n\r\n";
    assertDecodesAtEveryBoundary(s, List.of(List.of(ID, "", "BC", "chat", "message", "{\"text\":\"hi\"}")));
  }

  @Test
  void severalMessagesInOneReadAreAllDecodedInOrder() {
    String s = ID + "\n\nKA\n\r\n\r\nOC\nchat\n\r\n\r\nBC\nchat\nev\n{}\n\r\n\r\nCC\nchat\n\r\n\r\n";
    List<List<String>> expected = List.of(
        List.of(ID, "", "KA"), List.of("OC", "chat"), List.of("BC", "chat", "ev", "{}"), List.of("CC", "chat"));
    assertEquals(expected, decode(s));
    assertDecodesAtEveryBoundary(s, expected);
  }

  @Test
  void manyMessagesInOneRead() {
    StringBuilder b = new StringBuilder();
    List<List<String>> expected = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      b.append("OC\nc").append(i).append("\n\r\n\r\n");
      expected.add(List.of("OC", "c" + i));
    }
    assertEquals(expected, decode(b.toString()));
  }

  @Test
  void kosmonautJavaClientBytes() {
    // identity, "\n", "\n", each frame + "\n", then "\n\r\n\r\n", and one extra "\n" after the end.
    String s = ID + "\n" + "\n" + "BC\n" + "chat\n" + "message\n" + "{\"text\":\"hi\"}\n" + "\n\r\n\r\n" + "\n";
    List<List<String>> expected = List.of(List.of(ID, "", "BC", "chat", "message", "{\"text\":\"hi\"}", ""));
    assertDecodesAtEveryBoundary(s, expected);
    WbpRequest r = WbpRequest.parse(expected.get(0));
    assertEquals("BC", r.command());
    assertEquals(List.of("chat", "message", "{\"text\":\"hi\"}"), r.args());
  }

  @Test
  void kosmonautJavaClientBytesTwiceInARow() {
    String one = ID + "\n\nOC\nchat\n\n\r\n\r\n\n";
    List<List<String>> expected = List.of(List.of(ID, "", "OC", "chat", ""), List.of(ID, "", "OC", "chat", ""));
    assertDecodesAtEveryBoundary(one + one, expected);
  }

  @Test
  void rubyClientBytes() {
    String s = WORKER + "\n\nRD\n\r\n\r\n" + "HB\n\r\n\r\n" + "HB\n\r\n\r\n" + "QT\n\r\n\r\n";
    assertDecodesAtEveryBoundary(s,
        List.of(List.of(WORKER, "", "RD"), List.of("HB"), List.of("HB"), List.of("QT")));
  }

  @Test
  void strayEmptyLinesBetweenMessagesAreIgnored() {
    String s = "\n\nOC\na\n\r\n\r\n\n\n\n\nOC\nb\n\r\n\r\n\n";
    assertDecodesAtEveryBoundary(s, List.of(List.of("OC", "a"), List.of("OC", "b")));
  }

  @Test
  void strayCrLfLineBetweenMessagesIsIgnored() {
    // A lone "\r\n" not followed by another is an empty line; between messages, a stray one.
    String s = "OC\na\n\r\n\r\n\r\nOC\nb\n\r\n\r\n";
    assertDecodesAtEveryBoundary(s, List.of(List.of("OC", "a"), List.of("OC", "b")));
  }

  @Test
  void emptyMessageIsNotDelivered() {
    assertDecodesAtEveryBoundary("\r\n\r\n\n\r\n\r\nOC\na\n\r\n\r\n", List.of(List.of("OC", "a")));
  }

  @Test
  void loneCrLfLineInsideAMessageIsAnEmptyFrameNotAnEnd() {
    assertDecodesAtEveryBoundary("A\n\r\nB\n\r\n\r\n", List.of(List.of("A", "", "B")));
    assertDecodesAtEveryBoundary("A\n\r\n\n\r\n\r\n", List.of(List.of("A", "", "")));
    assertDecodesAtEveryBoundary("A\n\r\n\r\n\r\n\r\nB\n\r\n\r\n", List.of(List.of("A"), List.of("B")));
  }

  @Test
  void emptyLinesInsideAMessageAreEmptyFrames() {
    assertDecodesAtEveryBoundary("OC\n\n\nchat\n\r\n\r\n", List.of(List.of("OC", "", "", "chat")));
  }

  @Test
  void trailingCrIsRemovedOnce() {
    assertDecodesAtEveryBoundary("OC\r\nchat\r\n\r\n\r\n", List.of(List.of("OC", "chat")));
    assertDecodesAtEveryBoundary("A\r\r\nB\n\r\n\r\n", List.of(List.of("A\r", "B")));
    assertDecodesAtEveryBoundary("A\rB\n\r\n\r\n", List.of(List.of("A\rB")));
  }

  @Test
  void crLfLineEndingsAfterIdentity() {
    // A Windows-style client: the empty line after the identity is itself a lone "\r\n".
    String s = ID + "\r\n\r\nOC\r\nchat\r\n\r\n\r\n";
    List<List<String>> msgs = decode(s);
    assertDecodesAtEveryBoundary(s, msgs);
    WbpRequest r = WbpRequest.parse(msgs.get(0));
    assertEquals(new WbpRequest.Identity("req", "/demo", "0123456789abcdef0123456789abcdef01234567",
        "6f1c1a8e-3a4b-4f7e-9b3c-2a0f5d7e8c91"), r.identity());
    assertEquals("OC", r.command());
    assertEquals(List.of("chat"), r.args());
  }

  @Test
  void utf8SplitAcrossReadsIsDecodedWhole() {
    String data = "{\"text\":\"héllo wörld ✓ 𝄞 日本\"}";
    String s = "BC\nchat\nev\n" + data + "\n\r\n\r\n";
    assertDecodesAtEveryBoundary(s, List.of(List.of("BC", "chat", "ev", data)));
  }

  @Test
  void messageExactlyAtLimitPassesOneByteMoreIsOversize() {
    String head = "OC\n";
    String tail = "\n\r\n\r\n";
    int limit = 16 * 1024;
    String exact = head + "x".repeat(limit - head.length() - tail.length()) + tail;
    assertEquals(limit, exact.length());

    Recorder ok = new Recorder(limit).feed(exact).feed(exact);
    assertEquals(0, ok.oversize);
    assertEquals(2, ok.messages.size());

    String over = head + "x".repeat(limit - head.length() - tail.length() + 1) + tail;
    Recorder bad = new Recorder(limit).feed(over);
    assertEquals(1, bad.oversize);
    assertEquals(List.of(), bad.messages);
  }

  @Test
  void oversizeAcrossManySmallReadsIsDetected() {
    int limit = 16 * 1024;
    Recorder r = new Recorder(limit);
    r.feed("BC\nchat\nev\n");
    for (int i = 0; i < 2000 && r.oversize == 0; i++) {
      r.feed("line " + i + "\n");
    }
    assertEquals(1, r.oversize);
    assertEquals(List.of(), r.messages);
  }

  @Test
  void hugeLineWithoutNewlineIsOversizeWithoutWaitingForTheEnd() {
    int limit = 16 * 1024;
    Recorder r = new Recorder(limit);
    byte[] chunk = new byte[1000];
    Arrays.fill(chunk, (byte) 'a');
    for (int i = 0; i < 100 && r.oversize == 0; i++) {
      r.feed(chunk);
    }
    assertEquals(1, r.oversize);
    r.feed("\n\r\n\r\nOC\nchat\n\r\n\r\n");
    assertEquals(1, r.oversize, "reported once");
    assertEquals(List.of(), r.messages, "nothing decoded after the limit was crossed");
  }

  @Test
  void hugeSingleReadIsOversize() {
    Recorder r = new Recorder(16 * 1024).feed("x".repeat(1 << 20));
    assertEquals(1, r.oversize);
  }

  @Test
  void messagesBeforeAnOversizeOneInTheSameReadAreDelivered() {
    Recorder r = new Recorder(16 * 1024).feed("OC\na\n\r\n\r\nOC\n" + "y".repeat(20_000) + "\n\r\n\r\n");
    assertEquals(List.of(List.of("OC", "a")), r.messages);
    assertEquals(1, r.oversize);
  }

  @Test
  void readsLargerThanTheKeptBufferCutMidMessageDecodeTheSame() {
    // 40 messages of about 1 KiB, read in 7,000-byte pieces (every read ends inside a message
    // and leaves a tail larger than the buffer kept between reads), with a pause now and then.
    StringBuilder all = new StringBuilder();
    List<List<String>> expected = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String data = "{\"n\":" + i + ",\"p\":\"" + "q".repeat(1000 + i) + "\"}";
      all.append("BC\nchat\nev\n").append(data).append("\n\r\n\r\n");
      expected.add(List.of("BC", "chat", "ev", data));
    }
    byte[] bytes = all.toString().getBytes(StandardCharsets.UTF_8);
    Recorder r = new Recorder(16 * 1024);
    for (int from = 0, k = 0; from < bytes.length; from += 7_000, k++) {
      if (k % 3 == 1) {
        r.decoder.pause();
      }
      r.feed(Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + 7_000)));
      r.decoder.resume();
    }
    assertEquals(0, r.oversize);
    assertEquals(expected, r.messages);
    assertFalse(r.decoder.midMessage());
  }

  @Test
  void manySmallMessagesOverTheLimitInTotalAreFine() {
    Recorder r = new Recorder(16 * 1024);
    String msg = "BC\nchat\nev\n{\"n\":\"" + "z".repeat(1000) + "\"}\n\r\n\r\n";
    for (int i = 0; i < 100; i++) {
      r.feed(msg);
    }
    assertEquals(0, r.oversize);
    assertEquals(100, r.messages.size());
  }

  @Test
  void strayEmptyLinesDoNotCountTowardsTheLimit() {
    Recorder r = new Recorder(16 * 1024);
    r.feed("\n".repeat(100_000));
    r.feed("OC\nchat\n\r\n\r\n");
    assertEquals(0, r.oversize);
    assertEquals(List.of(List.of("OC", "chat")), r.messages);
  }

  @Test
  void emptyLinesAfterAFrameAreBoundedInBytesHeldNotLines() {
    // 65,001 bytes on the wire fit the limit, but as frames they would hold ~28 bytes each.
    Recorder r = new Recorder(65_536).feed("A\n" + "\n".repeat(65_000));
    assertEquals(1, r.oversize);
    assertEquals(List.of(), r.messages);
    // A legitimate message with a few frames at the limit still passes (see messageExactlyAtLimit...).
    Recorder ok = new Recorder(16 * 1024).feed("A\n" + "\n".repeat(100) + "B\n\r\n\r\n");
    assertEquals(0, ok.oversize);
    assertEquals(102, ok.messages.get(0).size());
  }

  @Test
  void aMessageWithNoFramesIsReportedAsEmpty() {
    int[] empty = {0};
    Recorder r = new Recorder(1 << 16);
    r.decoder.onEmpty(() -> empty[0]++);
    r.feed("\r\n\r\nOC\na\n\r\n\r\n\n\n\r\n\r\n");
    assertEquals(List.of(List.of("OC", "a")), r.messages);
    assertEquals(2, empty[0]);
  }

  @Test
  void truncatedMessageStaysPending() {
    Recorder r = new Recorder(1 << 16).feed("OC\nchat\n\r\n");
    assertEquals(List.of(), r.messages);
    r.feed("\r\n");
    assertEquals(List.of(List.of("OC", "chat")), r.messages);
  }

  @Test
  void randomBytesNeverThrow() {
    Random random = new Random(42);
    for (int round = 0; round < 300; round++) {
      Recorder r = new Recorder(16 * 1024);
      for (int i = 0; i < 20; i++) {
        byte[] b = new byte[random.nextInt(3000)];
        random.nextBytes(b);
        // Sprinkle the framing bytes so lines and ends actually occur.
        for (int k = 0; k < b.length; k += 1 + random.nextInt(40)) {
          b[k] = (byte) (random.nextBoolean() ? '\n' : '\r');
        }
        r.feed(b);
      }
      for (List<String> m : r.messages) {
        WbpRequest.parse(m); // never throws either
      }
    }
  }

  @Test
  void randomBytesThenAValidMessageStillDecodes() {
    Random random = new Random(7);
    byte[] b = new byte[2000];
    random.nextBytes(b);
    for (int i = 0; i < b.length; i++) {
      if (b[i] == '\n') {
        b[i] = 'n';
      }
    }
    Recorder r = new Recorder(16 * 1024).feed(b).feed("\n\r\n\r\nOC\nchat\n\r\n\r\n");
    assertEquals(2, r.messages.size());
    assertEquals(List.of("OC", "chat"), r.messages.get(1));
  }

  @Test
  void invalidUtf8NeverThrows() {
    byte[] bad = {(byte) 0xff, (byte) 0xfe, (byte) 0xc3, '\n', (byte) 0xe2, (byte) 0x82, '\n', '\r', '\n', '\r', '\n'};
    Recorder r = new Recorder(16 * 1024).feed(bad);
    assertEquals(1, r.messages.size());
    assertEquals(2, r.messages.get(0).size());
    assertTrue(r.messages.get(0).get(0).length() > 0);
  }

  @Test
  void pausedDecoderDeliversNothingUntilResumed() {
    String s = WORKER + "\n\nRD\n\r\n\r\n" + "HB\n\r\n\r\n" + "HB\n\r\n\r\n";
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    List<List<String>> expected = List.of(List.of(WORKER, "", "RD"), List.of("HB"), List.of("HB"));
    for (int cut = 1; cut < bytes.length; cut++) {
      List<List<String>> got = new ArrayList<>();
      WbpDecoder[] d = new WbpDecoder[1];
      // As a connection does: the RD pauses everything until the worker is registered.
      d[0] = new WbpDecoder(1 << 16, m -> {
        got.add(m);
        if (m.contains("RD")) {
          d[0].pause();
        }
      }, () -> {});
      d[0].feed(Buffer.buffer(Arrays.copyOfRange(bytes, 0, cut)));
      d[0].feed(Buffer.buffer(Arrays.copyOfRange(bytes, cut, bytes.length)));
      assertEquals(expected.subList(0, 1), got, "cut at " + cut);
      d[0].resume();
      assertEquals(expected, got, "cut at " + cut);
      d[0].resume();
      assertEquals(expected, got, "resuming twice delivers nothing twice");
    }
  }

  @Test
  void pauseBeforeAnyDataAndResume() {
    Recorder r = new Recorder(1 << 16);
    r.decoder.pause();
    r.feed("OC\na\n\r\n\r\nOC\nb\n\r\n\r\nOC\nc");
    assertEquals(List.of(), r.messages);
    r.decoder.resume();
    assertEquals(List.of(List.of("OC", "a"), List.of("OC", "b")), r.messages);
    r.feed("\n\r\n\r\n");
    assertEquals(List.of(List.of("OC", "a"), List.of("OC", "b"), List.of("OC", "c")), r.messages);
  }

  @Test
  void oversizeIsStillDetectedAfterResume() {
    Recorder r = new Recorder(16 * 1024);
    r.decoder.pause();
    r.feed("OC\na\n\r\n\r\n" + "x".repeat(20_000));
    assertEquals(0, r.oversize);
    r.decoder.resume();
    assertEquals(List.of(List.of("OC", "a")), r.messages);
    assertEquals(1, r.oversize);
  }
}
