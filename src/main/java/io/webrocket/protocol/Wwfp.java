package io.webrocket.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.protocol.Status;
import java.io.IOException;

/**
 * The WWFP message codec: one JSON object with exactly one key (the event name) whose value
 * is an object (the payload), in both directions.
 *
 * <p>Decoding is strict: duplicate keys, trailing content or a payload that is not an object
 * are malformed. Nesting depth is bounded so hostile input cannot exhaust the stack.
 */
public final class Wwfp {
  private static final int MAX_DEPTH = 64;
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /** A decoded browser message. */
  public record Message(String event, JsonObject payload) {}

  /** The reason a text could not be decoded; always answered with 400. */
  public static final class MalformedException extends Exception {
    MalformedException(String why) {
      super(why, null, false, false);
    }
  }

  private Wwfp() {}

  public static Message decode(String text) throws MalformedException {
    try (JsonParser p = FACTORY.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedException("not an object");
      }
      if (p.nextToken() != JsonToken.FIELD_NAME) {
        throw new MalformedException("no event");
      }
      String event = p.currentName();
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedException("payload is not an object");
      }
      JsonObject payload = readObject(p, 1);
      if (p.nextToken() != JsonToken.END_OBJECT) {
        throw new MalformedException("more than one event");
      }
      if (p.nextToken() != null) {
        throw new MalformedException("trailing content");
      }
      return new Message(event, payload);
    } catch (JsonParseException e) {
      throw new MalformedException("invalid JSON");
    } catch (IOException e) {
      throw new MalformedException("unreadable");
    }
  }

  private static JsonObject readObject(JsonParser p, int depth) throws IOException, MalformedException {
    if (depth > MAX_DEPTH) {
      throw new MalformedException("too deep");
    }
    JsonObject obj = new JsonObject();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String key = p.currentName();
      p.nextToken();
      obj.put(key, readValue(p, depth));
    }
    return obj;
  }

  private static Object readValue(JsonParser p, int depth) throws IOException, MalformedException {
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT:
        return readObject(p, depth + 1);
      case START_ARRAY:
        if (depth + 1 > MAX_DEPTH) {
          throw new MalformedException("too deep");
        }
        JsonArray arr = new JsonArray();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          arr.add(readValue(p, depth + 1));
        }
        return arr;
      case VALUE_STRING:
        return p.getText();
      case VALUE_NUMBER_INT:
        return p.getNumberValue();
      case VALUE_NUMBER_FLOAT:
        return p.getDoubleValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw new MalformedException("unexpected token");
    }
  }

  /** Encodes {@code {"event": payload}}. */
  public static String encode(String event, JsonObject payload) {
    return new JsonObject().put(event, payload).encode();
  }

  /**
   * Encodes {@code {"event": payload}} with one more member, {@code key}, whose value is JSON
   * text encoded already ({@code rawJson}, trusted: built by the broker, not by a peer). A
   * presence channel's member list is built once as text where its members are kept and reaches
   * the {@code :subscribed} reply without being parsed and encoded again.
   */
  public static String encodeWithRaw(String event, JsonObject payload, String key, String rawJson) {
    String head = payload.encode(); // "{...}"
    StringBuilder b = new StringBuilder(head.length() + key.length() + rawJson.length() + event.length() + 16);
    b.append('{').append(Json.encode(event)).append(':').append(head, 0, head.length() - 1);
    if (head.length() > 2) {
      b.append(',');
    }
    return b.append(Json.encode(key)).append(':').append(rawJson).append("}}").toString();
  }

  public static Buffer encodeBuffer(String event, JsonObject payload) {
    return new JsonObject().put(event, payload).toBuffer();
  }

  public static String error(Status status) {
    return encode(":error", new JsonObject().put("code", status.code).put("status", status.text));
  }

  /**
   * Encodes a user event as subscribers receive it: the data with {@code channel} (and, from a
   * browser, {@code sid}) written over keys of the same name. Called once per broadcast; takes
   * ownership of {@code data}.
   */
  public static Buffer userEvent(String event, JsonObject data, String channel, String sid) {
    JsonObject payload = data == null ? new JsonObject() : data;
    payload.put("channel", channel);
    if (sid != null) {
      payload.put("sid", sid);
    }
    return encodeBuffer(event, payload);
  }
}
