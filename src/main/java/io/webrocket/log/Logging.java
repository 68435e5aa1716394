package io.webrocket.log;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import io.webrocket.config.LogSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@code log} configuration section to Logback: level, plain text or JSON lines,
 * access log on or off. Output goes through a non-blocking async appender: an event loop never
 * waits for stdout (under a flood, INFO lines are dropped rather than stall the broker).
 */
public final class Logging {
  private static final String APPENDER = "webrocket";

  private Logging() {}

  /** Writes out what the async appender still holds (at exit). */
  public static void flush() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.stop();
    }
  }

  /** At start and on every reload (the node calls it; logging is the process's, not a verticle's). */
  public static synchronized void apply(LogSettings log) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return; // another SLF4J backend is in charge
    }
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(log.level(), Level.INFO));
    ctx.getLogger("webrocket.access").setLevel(log.access() ? Level.INFO : Level.OFF);
    AccessLog.maxFieldLength(log.maxFieldLength());
    ctx.getLogger("io.netty").setLevel(Level.WARN);
    ctx.getLogger("com.hazelcast").setLevel(Level.WARN);
    // Vert.x 5.0.7 registers its event-bus "pending" gauge twice and Micrometer warns at every
    // start: noise, not a problem of the node.
    ctx.getLogger("io.micrometer.core.instrument.MeterRegistry").setLevel(Level.ERROR);
    // It logs every failed scan of a broken file; the Reloader reports each problem once.
    ctx.getLogger("io.vertx.config.impl.ConfigRetrieverImpl").setLevel(Level.OFF);

    String format = log.format();
    AsyncAppender current = (AsyncAppender) root.getAppender(APPENDER);
    if (current != null && format.equals(current.getContext().getObject(APPENDER + ".format"))) {
      return;
    }
    Encoder<ILoggingEvent> encoder;
    if ("json".equals(format)) {
      JsonEncoder json = new JsonEncoder();
      // One self-contained line per event: the formatted message, no raw arguments or context.
      json.setWithArguments(false);
      json.setWithMessage(false);
      json.setWithFormattedMessage(true);
      json.setWithContext(false);
      json.setWithSequenceNumber(false);
      encoder = json;
    } else {
      PatternLayoutEncoder text = new PatternLayoutEncoder();
      text.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n");
      encoder = text;
    }
    encoder.setContext(ctx);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(ctx);
    console.setEncoder(encoder);
    console.start();
    AsyncAppender async = new AsyncAppender();
    async.setName(APPENDER);
    async.setContext(ctx);
    async.setNeverBlock(true);
    async.setQueueSize(8192);
    async.addAppender(console);
    async.start();
    ctx.putObject(APPENDER + ".format", format);
    root.detachAndStopAllAppenders();
    root.addAppender(async);
  }
}
