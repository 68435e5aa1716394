package io.webrocket.examples.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** The chat's rooms and their last messages, in memory. Thread-safe. */
final class Rooms {
  static final Pattern NAME = Pattern.compile("[a-z0-9-]{1,32}");
  static final int MAX_ROOMS = 1000;
  static final int KEPT_PER_ROOM = 200;

  /** One saved message. */
  record Message(String room, String user, String text, long time) {
    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("room", room);
      m.put("user", user);
      m.put("text", text);
      m.put("time", time);
      return m;
    }
  }

  private final Map<String, ArrayDeque<Message>> rooms = new ConcurrentHashMap<>();

  /** The WebRocket channel of a room: rooms are presence channels. */
  static String channel(String room) {
    return "presence-room-" + room;
  }

  boolean exists(String room) {
    return rooms.containsKey(room);
  }

  /** Adds {@code room}; false if it was there. Throws IllegalStateException over {@link #MAX_ROOMS}. */
  boolean add(String room) {
    if (rooms.containsKey(room)) {
      return false;
    }
    if (rooms.size() >= MAX_ROOMS) {
      throw new IllegalStateException("at most " + MAX_ROOMS + " rooms");
    }
    return rooms.putIfAbsent(room, new ArrayDeque<>()) == null;
  }

  List<String> names() {
    return new ArrayList<>(new TreeSet<>(rooms.keySet()));
  }

  /** Saves {@code m}, dropping the oldest beyond {@link #KEPT_PER_ROOM}; false if the room does not exist. */
  boolean save(Message m) {
    ArrayDeque<Message> q = rooms.get(m.room());
    if (q == null) {
      return false;
    }
    synchronized (q) {
      q.addLast(m);
      while (q.size() > KEPT_PER_ROOM) {
        q.removeFirst();
      }
    }
    return true;
  }

  /** The room's saved messages, oldest first; null if the room does not exist. */
  List<Map<String, Object>> messages(String room) {
    ArrayDeque<Message> q = rooms.get(room);
    if (q == null) {
      return null;
    }
    List<Map<String, Object>> out = new ArrayList<>();
    synchronized (q) {
      for (Message m : q) {
        out.add(m.toMap());
      }
    }
    return out;
  }
}
