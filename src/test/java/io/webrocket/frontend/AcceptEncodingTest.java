package io.webrocket.frontend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Which {@code Accept-Encoding} values get the client library gzipped (moved from ClientLibraryTest: no socket needed). */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(30)
class AcceptEncodingTest {
  @Test
  void acceptEncodingParsing() {
    assertTrue(ClientLibrary.acceptsGzip("gzip"));
    assertTrue(ClientLibrary.acceptsGzip("br, gzip;q=0.8"));
    assertTrue(ClientLibrary.acceptsGzip("*"));
    assertFalse(ClientLibrary.acceptsGzip("gzip;q=0"));
    assertFalse(ClientLibrary.acceptsGzip("identity"));
    assertFalse(ClientLibrary.acceptsGzip(null));
  }
}
