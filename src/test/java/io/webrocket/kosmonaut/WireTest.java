package io.webrocket.kosmonaut;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** WBP framing on raw bytes: what the library writes and how it reads the broker's messages. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class WireTest {
  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A stream that hands out one byte per read: every message split at every position. */
  static InputStream trickle(String s) {
    byte[] b = bytes(s);
    return new InputStream() {
      int i;

      @Override
      public int read() {
        return i < b.length ? b[i++] & 0xff : -1;
      }

      @Override
      public int read(byte[] buf, int off, int len) {
        if (i >= b.length) {
          return -1;
        }
        buf[off] = b[i++];
        return 1;
      }
    };
  }

  @Test
  void requestsAreIdentityEmptyLineCommandFramesAndTheEnd() {
    assertArrayEquals(bytes("req:/a:T:I\n\nKA\n\r\n\r\n"), Wire.encode("req:/a:T:I", "KA"));
    assertArrayEquals(bytes("BC\nchat\ne\n{\"é\":1}\n\r\n\r\n"), Wire.encode(null, "BC", "chat", "e", "{\"é\":1}"));
  }

  @Test
  void repliesAreReadWhateverTheSegments() throws IOException {
    String two = "OK\n\n\r\n\r\nAT\n" + "a".repeat(128) + "\n\r\n\r\nER\n454\n\r\n\r\n";
    for (InputStream in : List.of(new ByteArrayInputStream(bytes(two)), trickle(two))) {
      Wire.Reader r = new Wire.Reader(in);
      assertEquals(List.of("OK", ""), r.read());
      assertEquals(List.of("AT", "a".repeat(128)), r.read());
      assertEquals(List.of("ER", "454"), r.read());
      assertNull(r.read());
    }
  }

  @Test
  void aLoneCrLfLineIsAnEmptyFrameAndStrayLinesBetweenMessagesAreSkipped() throws IOException {
    Wire.Reader r = new Wire.Reader(new ByteArrayInputStream(bytes("\n\nTR\n\r\n{}\n\r\n\r\n")));
    assertEquals(List.of("TR", "", "{}"), r.read());
  }

  @Test
  void theEndOfStreamInsideAMessageIsAnError() {
    Wire.Reader r = new Wire.Reader(new ByteArrayInputStream(bytes("OK\n\n\r\n")));
    assertThrows(EOFException.class, r::read);
  }

  @Test
  void anEndlessLineIsBounded() {
    InputStream endless = new InputStream() {
      @Override
      public int read() {
        return 'x';
      }
    };
    assertThrows(IOException.class, () -> new Wire.Reader(endless).read());
  }

  @Test
  void triggersParseIntoEventDataAndSid() {
    Trigger t = Trigger.parse("{\"message\":{\"text\":\"hi\",\"n\":12345678901,\"f\":1.5,\"l\":[1,null],\"sid\":\"S\"}}");
    assertEquals("message", t.event());
    assertEquals("S", t.sid());
    assertEquals("hi", t.data().get("text"));
    assertEquals(12345678901L, t.data().get("n"));
    assertEquals(1.5, t.data().get("f"));
    assertEquals(java.util.Arrays.asList(1, null), t.data().get("l"));
    assertThrows(IllegalArgumentException.class, () -> Trigger.parse("{\"a\":1}"));
    assertThrows(IllegalArgumentException.class, () -> Trigger.parse("{\"a\":{},\"b\":{}}"));
  }
}
