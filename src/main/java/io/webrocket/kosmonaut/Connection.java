package io.webrocket.kosmonaut;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One slot of a {@link Client}'s pool: at most one persistent ({@code KA}) connection at a time,
 * made when a request needs it and made again after it ends.
 *
 * <p>Callers write their requests themselves, pipelined: the first caller to find nobody writing
 * writes every request queued so far and flushes once, so concurrent requests leave in one
 * {@code write} and no caller waits for another. A reader thread per connection reads the
 * replies, which come back in the order the requests were written, and completes each request's
 * future.
 */
final class Connection {
  private final Client client;
  private final int index;
  private final ReentrantLock lock = new ReentrantLock();
  /** Requests not yet written, in the order they were made. */
  private final ConcurrentLinkedQueue<Request> queue = new ConcurrentLinkedQueue<>();
  /** The open connection, or null; changed under {@link #lock}. */
  private volatile Link link;

  /** The 2012 server answered {@code KA} with {@code ER 400}: one connection per request from now on. */
  static final class OneShotServer extends RuntimeException {
    OneShotServer() {
      super(null, null, false, false);
    }
  }

  /** One TCP connection and the requests written to it whose replies are owed, oldest first. */
  private static final class Link {
    final Socket socket;
    final OutputStream out;
    final Wire.Reader reader;
    final ConcurrentLinkedQueue<Request> inFlight = new ConcurrentLinkedQueue<>();
    volatile long lastUsed = System.nanoTime();
    /** Why the library closed it (timeout, idle, client closed); null if it broke by itself. */
    volatile String closedBecause;

    Link(Socket socket, OutputStream out, Wire.Reader reader) {
      this.socket = socket;
      this.out = out;
      this.reader = reader;
    }

    void close(String because) {
      if (closedBecause == null) {
        closedBecause = because;
      }
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  Connection(Client client, int index) {
    this.client = client;
    this.index = index;
  }

  /**
   * Sends {@code r}, connecting first if needed. Never throws: every outcome completes r's
   * future. The request joins a queue; whichever caller finds no one writing becomes the writer
   * and writes everything queued (its own and what others added meanwhile) in one go. Callers
   * never wait for each other: at most one thread writes, the others return at once.
   */
  void send(Request r) {
    queue.add(r);
    drain();
  }

  /**
   * Writes what is queued unless another thread is writing; that thread re-checks the queue
   * after it lets go of the lock, so nothing queued is left behind. Every holder of the lock
   * calls this after releasing it, for the same reason.
   */
  private void drain() {
    while (!queue.isEmpty() && lock.tryLock()) {
      try {
        writeQueued();
      } finally {
        lock.unlock();
      }
    }
  }

  /** Holding the lock: connects if needed, then writes every queued request and flushes once. */
  private void writeQueued() {
    Link l = link;
    if (l == null) {
      Request head = queue.peek();
      if (head == null) {
        return;
      }
      try {
        l = open(head.deadlineNanos);
      } catch (OneShotServer e) {
        for (Request r; (r = queue.poll()) != null; ) {
          client.fallBackToOneShot(r);
        }
        return;
      } catch (KosmonautException e) {
        // Nothing was written: each queued request fails with what stopped the connection.
        for (Request r; (r = queue.poll()) != null; ) {
          r.fail(e);
        }
        return;
      }
      link = l;
      Link opened = l;
      client.startThread("reader-" + index, () -> read(opened));
    }
    try {
      long now = System.nanoTime();
      for (Request r; (r = queue.poll()) != null; ) {
        if (client.isClosed()) {
          r.fail(new ConnectionException("the client is closed", null));
        } else if (r.expired(now)) {
          r.fail(new RequestTimeoutException("no connection for " + r.label() + " within the request timeout"));
        } else {
          r.attempts++;
          l.inFlight.add(r); // before the bytes: the reply may come back before write() returns
          l.out.write(r.bytes);
        }
      }
      l.out.flush();
      l.lastUsed = System.nanoTime();
    } catch (IOException e) {
      // The reader settles what was written to it; what is still queued goes on a new connection.
      link = null;
      l.close(null);
    }
  }

  /**
   * Connects and turns the connection persistent with {@code KA}. A connection the broker ends
   * before answering (it may be shutting down) is made again, within the connect timeout.
   */
  private Link open(long requestDeadline) {
    return client.connect(requestDeadline, s -> {
      OutputStream out = new BufferedOutputStream(s.getOutputStream(), 16 * 1024);
      out.write(Wire.encode(client.endpoint().identity("req"), "KA"));
      out.flush();
      Wire.Reader reader = new Wire.Reader(s.getInputStream());
      List<String> reply = reader.read();
      if (reply == null) {
        throw new EOFException("the broker closed the connection instead of answering KA");
      }
      if (reply.get(0).equals("OK")) {
        s.setSoTimeout(0); // the client's timer watches deadlines from here on
        return new Link(s, out, reader);
      }
      if (reply.get(0).equals("ER") && reply.size() > 1) {
        int code = Client.parseCode(reply.get(1));
        if (code == 400) {
          throw new OneShotServer();
        }
        throw KosmonautException.fromBroker(code, "KA");
      }
      throw new ConnectionException("unexpected reply to KA from " + client.endpoint() + ": " + reply, null);
    });
  }

  /** The reader thread of {@code l}: replies complete the oldest request in flight. */
  private void read(Link l) {
    String reason;
    Throwable cause = null;
    try {
      while (true) {
        List<String> reply = l.reader.read();
        if (reply == null) {
          reason = "the broker closed the connection";
          break;
        }
        Request r = l.inFlight.poll();
        if (r == null) {
          reason = "a reply to no request: " + reply;
          break;
        }
        l.lastUsed = System.nanoTime();
        r.reply(reply);
      }
    } catch (IOException e) {
      reason = e.toString();
      cause = e;
    }
    if (l.closedBecause != null) {
      reason = l.closedBecause;
    }
    lost(l, reason, cause);
  }

  /**
   * {@code l} has ended: requests written to it without a reply are sent again if that is safe
   * and there is time, else fail.
   */
  private void lost(Link l, String reason, Throwable cause) {
    l.close(reason);
    lock.lock();
    try {
      if (link == l) {
        link = null;
      }
    } finally {
      lock.unlock();
    }
    drain();
    long now = System.nanoTime();
    List<Request> again = new ArrayList<>();
    for (Request r; (r = l.inFlight.poll()) != null; ) {
      if (r.future.isDone()) {
        continue;
      }
      if (r.expired(now)) {
        r.fail(new RequestTimeoutException("no reply to " + r.label() + " within " + client.requestTimeout()));
      } else if (client.isClosed()) {
        r.fail(new ConnectionException("the client was closed before the reply to " + r.label(), cause));
      } else if (r.retriable && r.attempts <= client.retries()) {
        again.add(r);
      } else if (r.retriable) {
        r.fail(new ConnectionException("no reply to " + r.label() + " after " + r.attempts + " attempts: " + reason, cause));
      } else {
        r.fail(new ConnectionException("the connection ended before the reply to " + r.label() + " (" + reason
            + "); it may or may not have taken effect, so it was not sent again", cause));
      }
    }
    for (Request r : again) {
      client.dispatch(r);
    }
  }

  /** Called by the client's timer: ends a connection whose oldest reply is late, or that is idle. */
  void tick(long now, long idleNanos) {
    Link l = link;
    if (l == null) {
      return;
    }
    Request head = l.inFlight.peek();
    if (head != null) {
      if (head.expired(now)) {
        // Replies come in order: everything behind the late one is stuck behind it too.
        l.close("no reply to " + head.label() + " within " + client.requestTimeout());
      }
      return;
    }
    if (now - l.lastUsed > idleNanos && lock.tryLock()) {
      try {
        // Closed by us well before the broker's idle timeout: a request can never race its close.
        if (link == l && l.inFlight.isEmpty() && queue.isEmpty()) {
          link = null;
          l.close("idle");
        }
      } finally {
        lock.unlock();
      }
      drain();
    }
  }

  /** Requests queued or written and not yet answered. */
  int inFlight() {
    Link l = link;
    return queue.size() + (l == null ? 0 : l.inFlight.size());
  }

  /** Closes the connection now; what is in flight fails (see {@link #lost}). */
  void close() {
    lock.lock();
    try {
      Link l = link;
      link = null;
      if (l != null) {
        l.close("the client was closed");
      }
    } finally {
      lock.unlock();
    }
    drain(); // what was queued meanwhile fails: the client is closed
  }
}
