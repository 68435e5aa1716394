package io.webrocket.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.Await;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * The access log over real sockets: what a peer sends cannot forge a line (CR, LF), reach a
 * terminal as an escape sequence, or make a line longer than a few capped fields.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AccessLogTest {
  static final int MAX_FIELD = 64;

  @Test
  void controlCharactersAreEscapedAndEveryFieldIsCapped() {
    try (TestNode n = TestNode.start(new JsonObject().put("log", new JsonObject().put("maxFieldLength", MAX_FIELD)))) {
      String token = n.createVhost("/logged");
      Logger access = (Logger) LoggerFactory.getLogger("webrocket.access");
      ListAppender<ILoggingEvent> lines = new ListAppender<>();
      lines.start();
      access.addAppender(lines);
      try {
        // A carriage return inside a line (a line feed would end the WBP frame): on a terminal it
        // overwrites the line with a forged one; then an ANSI colour escape.
        String forged = "x\r12:00:00 INFO backend[/admin]: 200 OK\u001b[31mred\u001b[0m";
        try (WbpClient c = n.wbp()) {
          // Unauthenticated: a made-up vhost, a forged command and a 60,000-character channel name.
          c.write(WbpClient.message(WbpClient.identity("req", "/nowhere", "0".repeat(40)), "OC", "c".repeat(60_000) + forged));
          assertEquals(List.of("ER", "402"), c.read());
        }
        try (WbpClient c = n.wbp()) {
          assertEquals("ER", c.request(WbpClient.identity("req", "/logged", token), "BC", "ch" + forged, "ev" + forged, "{}").get(0));
        }
        List<String> logged = waitForLines(lines, 2);
        for (String line : logged) {
          assertTrue(line.chars().noneMatch(ch -> ch < 0x20 || ch == 0x7f), "a control character in: " + line);
          assertTrue(line.length() < 8 * MAX_FIELD, line.length() + " characters: " + line);
        }
        assertTrue(logged.stream().anyMatch(l -> l.contains("x\\r12:00:00") && l.contains("\\u001b[31m")), logged.toString());
      } finally {
        access.detachAppender(lines);
      }
    }
  }

  static List<String> waitForLines(ListAppender<ILoggingEvent> lines, int count) {
    return Await.until(5_000, count + " access log lines", () -> {
      synchronized (lines.list) {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
      }
    }, l -> l.size() >= count);
  }

}
