package io.webrocket.config;

import java.util.Locale;
import java.util.Set;

/**
 * The {@code log} section; applies live.
 *
 * @param level the root level as given (TRACE, DEBUG, INFO, WARN, ERROR or OFF, any case)
 * @param format {@code text} or {@code json} lines
 * @param access the access log on or off
 * @param maxFieldLength access log: longest field a peer chose
 */
public record LogSettings(String level, String format, boolean access, int maxFieldLength) {
  private static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  static LogSettings parse(Section s) {
    Object level = s.value("level");
    if (!LEVELS.contains(String.valueOf(level).toUpperCase(Locale.ROOT))) {
      throw new Settings.InvalidException("log.level", "must be one of TRACE, DEBUG, INFO, WARN, ERROR, OFF, got " + level);
    }
    Object format = s.value("format");
    if (!Set.of("text", "json").contains(String.valueOf(format))) {
      throw new Settings.InvalidException("log.format", "must be text or json, got " + format);
    }
    int maxFieldLength = s.integer("maxFieldLength", 16, 1_000_000);
    return new LogSettings((String) level, (String) format, s.bool("access"), maxFieldLength);
  }
}
