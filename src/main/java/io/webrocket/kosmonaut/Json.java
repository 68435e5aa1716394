package io.webrocket.kosmonaut;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The library's one JSON path (public for the handlers and the example that want it), on Jackson's streaming API (jackson-core) only: maps, lists,
 * arrays, strings, numbers, booleans and null, in both directions. Objects of other types are
 * refused (a caller with its own object mapper passes JSON text instead).
 */
public final class Json {
  private static final JsonFactory FACTORY = JsonFactory.builder().build();

  private Json() {}

  /** Compact JSON text of {@code value}: one line, as a WBP frame must be. */
  public static String write(Object value) {
    StringWriter out = new StringWriter(64);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      write(g, value, 0);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write JSON: " + e.getMessage(), e);
    }
    return out.toString();
  }

  private static void write(JsonGenerator g, Object v, int depth) throws IOException {
    if (depth > 500) {
      throw new IllegalArgumentException("JSON nested over 500 levels (a cycle?)");
    }
    if (v == null) {
      g.writeNull();
    } else if (v instanceof CharSequence || v instanceof Character || v instanceof Enum<?>
        || v instanceof java.util.UUID) {
      g.writeString(v.toString());
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
        || v instanceof java.util.concurrent.atomic.AtomicInteger || v instanceof java.util.concurrent.atomic.AtomicLong) {
      g.writeNumber(((Number) v).longValue());
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw new IllegalArgumentException("JSON has no " + d);
      }
      g.writeNumber(d);
    } else if (v instanceof BigInteger b) {
      g.writeNumber(b);
    } else if (v instanceof BigDecimal b) {
      g.writeNumber(b);
    } else if (v instanceof Map<?, ?> m) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (e.getKey() == null) {
          throw new IllegalArgumentException("a JSON object key cannot be null");
        }
        g.writeFieldName(e.getKey().toString());
        write(g, e.getValue(), depth + 1);
      }
      g.writeEndObject();
    } else if (v instanceof Iterable<?> it) {
      g.writeStartArray();
      for (Object o : it) {
        write(g, o, depth + 1);
      }
      g.writeEndArray();
    } else if (v.getClass().isArray()) {
      g.writeStartArray();
      for (int i = 0, n = Array.getLength(v); i < n; i++) {
        write(g, Array.get(v, i), depth + 1);
      }
      g.writeEndArray();
    } else {
      throw new IllegalArgumentException("cannot write a " + v.getClass().getName()
          + " as JSON: use maps, lists, strings, numbers and booleans, or pass JSON text");
    }
  }

  /** Parses a JSON object; throws IllegalArgumentException if {@code text} is not one. */
  public static Map<String, Object> readObject(String text) {
    try (JsonParser p = FACTORY.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object");
      }
      Map<String, Object> m = readObjectBody(p);
      if (p.nextToken() != null) {
        throw new IllegalArgumentException("text after the JSON object");
      }
      return m;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("not valid JSON: " + e.getMessage(), e);
    }
  }

  /** The same JSON object on one line (for JSON text given with line breaks). */
  static String compact(String text) {
    return write(readObject(text));
  }

  private static Map<String, Object> readObjectBody(JsonParser p) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      m.put(name, readValue(p));
    }
    return m;
  }

  private static Object readValue(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == null) {
      throw new IOException("unexpected end of JSON");
    }
    switch (t) {
      case START_OBJECT:
        return readObjectBody(p);
      case START_ARRAY: {
        List<Object> list = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          list.add(readValue(p));
        }
        return list;
      }
      case VALUE_STRING:
        return p.getText();
      case VALUE_NUMBER_INT:
        return p.getNumberValue(); // Integer, Long or BigInteger, by size
      case VALUE_NUMBER_FLOAT:
        return p.getDoubleValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw new IOException("unexpected " + t);
    }
  }
}
