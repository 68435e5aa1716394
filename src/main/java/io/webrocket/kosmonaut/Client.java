package io.webrocket.kosmonaut;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * A WebRocket backend client: opens and closes channels, broadcasts, and issues single access
 * tokens for browsers, over WBP.
 *
 * <pre>{@code
 * try (Client client = new Client("wr://TOKEN@127.0.0.1:8081/demo")) {
 *   client.openChannel("chat");
 *   client.broadcast("chat", "message", Map.of("text", "hi"));
 *   String token = client.requestSingleAccessToken("alice", "^presence-room-.*$");
 * }
 * }</pre>
 *
 * <p><b>Connections.</b> Thread-safe: share one client. It keeps a small pool of persistent
 * ({@code KA}) connections, made when first needed, and pipelines the requests of all threads
 * over them. Requests about one channel always use the same connection, so they take effect in
 * the order they were made, even asynchronously ({@code openChannelAsync} then
 * {@code broadcastAsync} on one channel needs no wait in between). A connection idle for
 * {@link Builder#idleTimeout} is closed, and a new one made on the next request. Against a 2012
 * server, which answers {@code KA} with {@code ER 400}, the client uses one connection per
 * request instead.
 *
 * <p><b>Failures</b> are unchecked {@link KosmonautException}s carrying the WBP code. A connection
 * that cannot be made is retried with back-off for up to {@link Builder#connectTimeout} (a broker
 * restart of a few seconds is not seen by callers). When a connection ends after a request was
 * written but before its reply, {@code openChannel}, {@code closeChannel} and
 * {@code requestSingleAccessToken} are sent again (up to {@link Builder#retries} times): opening is
 * idempotent, closing twice leaves the channel closed (a {@code 454} to a repeated close counts as
 * success), and a token issued twice only leaves an unused token to expire. A {@code broadcast} is
 * never sent twice: subscribers would get it twice. It fails with a {@link ConnectionException}
 * saying it may or may not have been delivered.
 *
 * <p><b>Asynchronous calls</b> return at once with a {@link CompletableFuture} (they wait only
 * while a connection is being made, at most the connect timeout). Their futures complete on the
 * connection's reader thread: dependent stages added with the non-{@code Async} methods run
 * there, and should be short; a synchronous call from there is refused with an
 * IllegalStateException (its reply would be read by that very thread).
 */
public final class Client implements AutoCloseable {
  private static final AtomicInteger CLIENTS = new AtomicInteger();

  private final Endpoint endpoint;
  private final long connectTimeoutNanos;
  private final long requestTimeoutNanos;
  private final long idleTimeoutNanos;
  private final int retries;
  private final Connection[] pool;
  private final AtomicInteger next = new AtomicInteger();
  private final ScheduledExecutorService timer;
  private final ThreadPoolExecutor oneShots;
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final String name;
  private volatile boolean closed;
  /** Set once the broker answered KA with ER 400: a 2012 server. */
  private volatile boolean oneShot;

  /** A client with the default settings (see {@link Builder}). */
  public Client(String url) {
    this(builder(url));
  }

  private Client(Builder b) {
    this.endpoint = Endpoint.parse(b.url, b.sslContext);
    this.connectTimeoutNanos = b.connectTimeout.toNanos();
    this.requestTimeoutNanos = b.requestTimeout.toNanos();
    this.idleTimeoutNanos = b.idleTimeout.toNanos();
    this.retries = b.retries;
    this.name = "kosmonaut-client-" + CLIENTS.incrementAndGet();
    this.pool = new Connection[b.poolSize];
    for (int i = 0; i < pool.length; i++) {
      pool[i] = new Connection(this, i);
    }
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> thread(name + "-timer", r));
    t.setRemoveOnCancelPolicy(true);
    long tick = Math.max(10, Math.min(100, TimeUnit.NANOSECONDS.toMillis(requestTimeoutNanos) / 10));
    t.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.MILLISECONDS);
    this.timer = t;
    this.oneShots = new ThreadPoolExecutor(b.poolSize, b.poolSize, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(10_000), r -> thread(name + "-oneshot", r), new ThreadPoolExecutor.CallerRunsPolicy());
    oneShots.allowCoreThreadTimeOut(true);
  }

  public static Builder builder(String url) {
    return new Builder(url);
  }

  /** Settings; every one has a default fit for production. */
  public static final class Builder {
    private final String url;
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration requestTimeout = Duration.ofSeconds(10);
    private Duration idleTimeout = Duration.ofSeconds(60);
    private int poolSize = 4;
    private int retries = 2;
    private SSLContext sslContext;

    private Builder(String url) {
      this.url = url;
    }

    /** How long to keep trying to make a connection (refused connections are retried with back-off). Default 5 s. */
    public Builder connectTimeout(Duration d) {
      this.connectTimeout = positive(d, "connectTimeout");
      return this;
    }

    /** How long a request may take in all, connecting and retries included. Default 10 s. */
    public Builder requestTimeout(Duration d) {
      this.requestTimeout = positive(d, "requestTimeout");
      return this;
    }

    /**
     * A connection unused this long is closed. Default 60 s; keep it below the broker's
     * {@code backend.idleTimeoutMs} (5 minutes), so that the broker never closes a connection a
     * request is being written to.
     */
    public Builder idleTimeout(Duration d) {
      this.idleTimeout = positive(d, "idleTimeout");
      return this;
    }

    /** Persistent connections (at most; each made when first needed). Default 4. */
    public Builder poolSize(int n) {
      if (n < 1 || n > 64) {
        throw new IllegalArgumentException("poolSize must be 1..64");
      }
      this.poolSize = n;
      return this;
    }

    /** How many times a request that is safe to repeat is sent again after its connection ended. Default 2. */
    public Builder retries(int n) {
      if (n < 0 || n > 10) {
        throw new IllegalArgumentException("retries must be 0..10");
      }
      this.retries = n;
      return this;
    }

    /** Trust (and client certificates) for {@code wrs://}; default: the JDK's trust store. */
    public Builder sslContext(SSLContext ctx) {
      this.sslContext = ctx;
      return this;
    }

    public Client build() {
      return new Client(this);
    }

    private static Duration positive(Duration d, String what) {
      if (d == null || d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(what + " must be positive");
      }
      return d;
    }
  }

  // ---- the calls ----

  /** Opens {@code channel} (nothing happens if it is open). {@code 451} invalid name; {@code 429} too many channels. */
  public void openChannel(String channel) {
    await(submit("OC", true, frame("channel", channel)));
  }

  public CompletableFuture<Void> openChannelAsync(String channel) {
    return submit("OC", true, frame("channel", channel)).thenApply(x -> null);
  }

  /** Closes {@code channel}, unsubscribing everyone. {@code 454} if it is not open. */
  public void closeChannel(String channel) {
    await(submit("CC", true, frame("channel", channel)));
  }

  public CompletableFuture<Void> closeChannelAsync(String channel) {
    return submit("CC", true, frame("channel", channel)).thenApply(x -> null);
  }

  /**
   * Broadcasts {@code event} with {@code data} (written as a JSON object) to every subscriber
   * of {@code channel}: they get {@code {"EVENT": {...data, "channel": CHANNEL}}}.
   * {@code 454} if the channel is not open; {@code 400} if the event name starts with {@code :}.
   */
  public void broadcast(String channel, String event, Map<String, ?> data) {
    if (data == null) {
      throw new NullPointerException("data");
    }
    await(broadcastRequest(channel, event, Json.write(data)));
  }

  /** As {@link #broadcast(String, String, Map)}, with {@code json} the data as JSON object text. */
  public void broadcast(String channel, String event, String json) {
    await(broadcastRequest(channel, event, oneLine(json)));
  }

  public CompletableFuture<Void> broadcastAsync(String channel, String event, Map<String, ?> data) {
    if (data == null) {
      throw new NullPointerException("data");
    }
    return broadcastRequest(channel, event, Json.write(data)).thenApply(x -> null);
  }

  public CompletableFuture<Void> broadcastAsync(String channel, String event, String json) {
    return broadcastRequest(channel, event, oneLine(json)).thenApply(x -> null);
  }

  /** JSON text may be spread over lines; a WBP frame cannot, so such text is put on one line. */
  private static String oneLine(String json) {
    if (json == null) {
      throw new NullPointerException("json");
    }
    return Wire.isFrame(json) ? json : Json.compact(json);
  }

  private CompletableFuture<String> broadcastRequest(String channel, String event, String json) {
    return submit("BC", false, frame("channel", channel), frame("event", event), json);
  }

  /**
   * A single access token (128 hex characters) for a browser: usable once, within the broker's
   * {@code tokens.lifetimeMs}, it authenticates as {@code uid} with access to the private and
   * presence channels whose whole name matches {@code permissionRegexp}.
   * {@code 400} if either is empty or the pattern is not a valid regular expression.
   */
  public String requestSingleAccessToken(String uid, String permissionRegexp) {
    return await(submit("AT", true, frame("uid", uid), frame("permissionRegexp", permissionRegexp)));
  }

  public CompletableFuture<String> requestSingleAccessTokenAsync(String uid, String permissionRegexp) {
    return submit("AT", true, frame("uid", uid), frame("permissionRegexp", permissionRegexp));
  }

  /**
   * Stops taking requests, waits (at most the request timeout) for the replies owed, then closes
   * every connection and stops the client's threads.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + requestTimeoutNanos;
    for (Connection c : pool) {
      while (c.inFlight() > 0 && System.nanoTime() < deadline) {
        sleepMs(5);
      }
      c.close();
    }
    oneShots.shutdown();
    timer.shutdownNow();
    try {
      oneShots.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      for (Thread t : threads) {
        t.join(1000);
      }
      timer.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "Client(" + endpoint + ")";
  }

  // ---- internals shared with Connection ----

  private static String frame(String what, String value) {
    if (value == null) {
      throw new NullPointerException(what);
    }
    if (!Wire.isFrame(value)) {
      throw new IllegalArgumentException(what + " cannot contain a line break");
    }
    return value;
  }

  private CompletableFuture<String> submit(String command, boolean retriable, String... frames) {
    if (closed) {
      throw new IllegalStateException("the client is closed");
    }
    Request r = new Request(command, retriable, System.nanoTime() + requestTimeoutNanos, frames);
    dispatch(r);
    return r.future;
  }

  /** Sends (or sends again) {@code r} the way the server takes it. */
  void dispatch(Request r) {
    if (oneShot) {
      fallBackToOneShot(r);
      return;
    }
    // One connection per channel keeps one channel's requests in order; tokens go round.
    int slot = r.command.equals("AT") ? Math.floorMod(next.getAndIncrement(), pool.length)
        : Math.floorMod(r.frames[0].hashCode(), pool.length);
    pool[slot].send(r);
  }

  void fallBackToOneShot(Request r) {
    oneShot = true;
    try {
      oneShots.execute(() -> oneShot(r));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      r.fail(new ConnectionException("the client is closed", e));
    }
  }

  /** A 2012 server: a connection per request, the reply read until the broker closes it. */
  private void oneShot(Request r) {
    while (true) {
      Socket s;
      try {
        s = connect(r.deadlineNanos);
      } catch (KosmonautException e) {
        r.fail(e);
        return;
      }
      r.attempts++;
      try (s) {
        OutputStream out = new BufferedOutputStream(s.getOutputStream());
        out.write(Wire.encode(endpoint.identity("req"), r.command, r.frames));
        out.flush();
        s.setSoTimeout(Math.max(1, (int) TimeUnit.NANOSECONDS.toMillis(r.deadlineNanos - System.nanoTime())));
        List<String> reply = new Wire.Reader(s.getInputStream()).read();
        if (reply == null) {
          throw new java.io.EOFException("the broker closed the connection without a reply");
        }
        r.reply(reply);
        return;
      } catch (SocketTimeoutException e) {
        r.fail(new RequestTimeoutException("no reply to " + r.label() + " within " + requestTimeout()));
        return;
      } catch (IOException e) {
        if (!r.retriable || r.attempts > retries || closed) {
          r.fail(new ConnectionException("the connection ended before the reply to " + r.label() + " (" + e + ")"
              + (r.retriable ? "" : "; it may or may not have taken effect, so it was not sent again"), e));
          return;
        }
      }
    }
  }

  /**
   * A connected socket, trying again with back-off while the broker refuses connections, for at
   * most the connect timeout (and never past {@code requestDeadline}).
   */
  Socket connect(long requestDeadline) {
    return connect(requestDeadline, s -> s);
  }

  /** What is done on a fresh socket before it is handed out; an IOException there counts as a failed connect. */
  interface Setup<T> {
    T on(Socket s) throws IOException;
  }

  /**
   * As {@link #connect(long)}, with {@code setup} run on each fresh socket (the socket is closed
   * if it throws); an IOException from it is retried like a refused connection.
   */
  <T> T connect(long requestDeadline, Setup<T> setup) {
    long start = System.nanoTime();
    long deadline = start + connectTimeoutNanos;
    if (requestDeadline - deadline < 0) {
      deadline = requestDeadline;
    }
    long backoffMs = 50;
    IOException last = null;
    while (true) {
      long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (remainingMs <= 0 || closed) {
        throw new ConnectionException("cannot connect to " + endpoint + " within "
            + Duration.ofNanos(connectTimeoutNanos) + (last == null ? "" : ": " + last), last);
      }
      Socket s = null;
      try {
        s = endpoint.connect((int) Math.min(Integer.MAX_VALUE, remainingMs));
        return setup.on(s);
      } catch (SSLException e) {
        closeQuietly(s);
        // A certificate the trust store does not accept will not be accepted on a second try.
        throw new ConnectionException("TLS with " + endpoint + " failed: " + e.getMessage(), e);
      } catch (UnknownHostException e) {
        throw new ConnectionException("unknown host " + endpoint.host, e);
      } catch (IOException e) {
        closeQuietly(s);
        last = e;
      } catch (RuntimeException e) {
        closeQuietly(s);
        throw e;
      }
      sleepMs(Math.min(backoffMs, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
      backoffMs = Math.min(backoffMs * 2, 1000);
    }
  }

  static void closeQuietly(Socket s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private void tick() {
    long now = System.nanoTime();
    for (Connection c : pool) {
      c.tick(now, idleTimeoutNanos);
    }
  }

  Endpoint endpoint() {
    return endpoint;
  }

  boolean isClosed() {
    return closed;
  }

  int retries() {
    return retries;
  }

  Duration requestTimeout() {
    return Duration.ofNanos(requestTimeoutNanos);
  }

  /** Starts a daemon thread the client tracks (and joins on close). */
  void startThread(String role, Runnable body) {
    Thread[] self = new Thread[1];
    self[0] = thread(name + "-" + role, () -> {
      try {
        body.run();
      } finally {
        threads.remove(self[0]);
      }
    });
    threads.add(self[0]);
    self[0].start();
  }

  private static Thread thread(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  static int parseCode(String frame) {
    try {
      return Integer.parseInt(frame.trim());
    } catch (NumberFormatException e) {
      return 597;
    }
  }

  private static void sleepMs(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConnectionException("interrupted", e);
    }
  }

  /** Waits for an asynchronous call; failures are thrown as they are, with the caller's stack. */
  private <T> T await(CompletableFuture<T> f) {
    if (threads.contains(Thread.currentThread())) {
      // Its reply would have to be read by this very thread: it would only ever time out.
      throw new IllegalStateException("a synchronous call from a callback running on the client's reader thread;"
          + " use the Async variant, or chain with thenComposeAsync");
    }
    // The future always completes by the request deadline; this bound is a safety net only.
    long bound = requestTimeoutNanos + connectTimeoutNanos + TimeUnit.SECONDS.toNanos(2);
    try {
      return f.get(bound, TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof KosmonautException k) {
        k.fillInStackTrace(); // the reader thread's stack says nothing; the caller's does
        throw k;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new KosmonautException(597, String.valueOf(cause), cause);
    } catch (TimeoutException e) {
      throw new RequestTimeoutException("no reply within " + requestTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KosmonautException(KosmonautException.TIMEOUT, "interrupted while waiting for the reply", e);
    }
  }
}
