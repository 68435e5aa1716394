package io.webrocket.kosmonaut;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * A WebRocket backend worker: receives the events browsers trigger, each one delivered to exactly
 * one worker of the vhost (the broker balances them over all workers connected).
 *
 * <pre>{@code
 * Worker worker = new Worker("wr://TOKEN@127.0.0.1:8081/demo")
 *     .on("message", t -> save(t.data().get("text"), t.sid()))
 *     .onAny(t -> log.info("unhandled " + t.event()));
 * worker.start();
 * ...
 * worker.stop();
 * }</pre>
 *
 * <p>One socket thread reads the connection; handlers run on a bounded pool of handler threads,
 * never on the socket thread. When all handler threads are busy and {@link Builder#queueCapacity}
 * triggers wait, the worker stops reading until one finishes: the broker then holds (and, once its
 * write queue is full, refuses with {@code 503}) further triggers rather than this process
 * buffering without bound. A handler's exception goes to the error listener; the worker goes on.
 *
 * <p>Heartbeats follow WBP: the worker sends {@code HB} every {@link Builder#heartbeatInterval}
 * (500 ms) and expects the broker's within {@link Builder#brokerTimeout} (2 s). When the broker
 * goes silent, closes the connection or sends {@code QT} (it does on shutdown), the worker
 * reconnects with exponential back-off and jitter ({@link Builder#reconnectDelay}) until it is
 * stopped.
 *
 * <p>A started worker's socket thread keeps the JVM alive, as a server's would, until
 * {@link #stop()}.
 */
public final class Worker implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.webrocket.kosmonaut.Worker");
  private static final AtomicInteger WORKERS = new AtomicInteger();
  private static final byte[] HB = Wire.encode(null, "HB");
  private static final byte[] QT = Wire.encode(null, "QT");

  private final Endpoint endpoint;
  private final Builder settings;
  private final String name;
  private final Map<String, TriggerHandler> handlers = new ConcurrentHashMap<>();
  private volatile TriggerHandler any;
  private volatile Consumer<Throwable> errors = Worker::log;
  private final Object monitor = new Object();
  /** NEW → RUNNING → STOPPING → STOPPED; guarded by {@link #monitor}. */
  private String state = "NEW";
  private volatile boolean stopping;
  private volatile Session session;
  private boolean registered; // guarded by monitor
  private Thread socketThread;
  private ScheduledThreadPoolExecutor heartbeats;
  private ThreadPoolExecutor pool;
  private Semaphore room;

  /** A worker with the default settings (see {@link Builder}). */
  public Worker(String url) {
    this(builder(url));
  }

  private Worker(Builder b) {
    this.settings = b;
    this.endpoint = Endpoint.parse(b.url, b.sslContext);
    this.name = "kosmonaut-worker-" + WORKERS.incrementAndGet();
  }

  public static Builder builder(String url) {
    return new Builder(url);
  }

  /** Settings; every one has a default. */
  public static final class Builder {
    private final String url;
    private int handlerThreads = 4;
    private int queueCapacity = 1000;
    private Duration stopTimeout = Duration.ofSeconds(10);
    private Duration heartbeatInterval = Duration.ofMillis(500);
    private Duration brokerTimeout = Duration.ofSeconds(2);
    private Duration reconnectMin = Duration.ofMillis(100);
    private Duration reconnectMax = Duration.ofSeconds(10);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private SSLContext sslContext;

    private Builder(String url) {
      this.url = url;
    }

    /** Threads running handlers. Default 4. */
    public Builder handlerThreads(int n) {
      this.handlerThreads = range(n, 1, 1024, "handlerThreads");
      return this;
    }

    /** Triggers waiting for a handler thread before the worker stops reading. Default 1000. */
    public Builder queueCapacity(int n) {
      this.queueCapacity = range(n, 0, 1_000_000, "queueCapacity");
      return this;
    }

    /** How long {@link #stop()} waits for handlers in flight (and queued) to finish. Default 10 s. */
    public Builder stopTimeout(Duration d) {
      this.stopTimeout = d;
      return this;
    }

    /** Period of the worker's {@code HB}. Default 500 ms (WBP). */
    public Builder heartbeatInterval(Duration d) {
      this.heartbeatInterval = d;
      return this;
    }

    /** Silence from the broker after which the worker reconnects. Default 2 s (the broker beats every 500 ms). */
    public Builder brokerTimeout(Duration d) {
      this.brokerTimeout = d;
      return this;
    }

    /** Reconnect back-off: from {@code min}, doubling to {@code max}, each delay jittered to 50–100 %. Default 100 ms – 10 s. */
    public Builder reconnectDelay(Duration min, Duration max) {
      if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
        throw new IllegalArgumentException("reconnectDelay needs 0 < min <= max");
      }
      this.reconnectMin = min;
      this.reconnectMax = max;
      return this;
    }

    /** Bound on making one connection (TLS handshake included). Default 5 s. */
    public Builder connectTimeout(Duration d) {
      this.connectTimeout = d;
      return this;
    }

    /** Trust (and client certificates) for {@code wrs://}; default: the JDK's trust store. */
    public Builder sslContext(SSLContext ctx) {
      this.sslContext = ctx;
      return this;
    }

    public Worker build() {
      return new Worker(this);
    }

    private static int range(int n, int min, int max, String what) {
      if (n < min || n > max) {
        throw new IllegalArgumentException(what + " must be " + min + ".." + max);
      }
      return n;
    }
  }

  /** Runs {@code handler} for triggers of {@code event} (replacing any handler it had). */
  public Worker on(String event, TriggerHandler handler) {
    handlers.put(java.util.Objects.requireNonNull(event, "event"), java.util.Objects.requireNonNull(handler, "handler"));
    return this;
  }

  /** Runs {@code handler} for triggers of every event that has no handler of its own. */
  public Worker onAny(TriggerHandler handler) {
    this.any = handler;
    return this;
  }

  /**
   * Receives what goes wrong without stopping the worker: handler exceptions, triggers nobody
   * handles, connection failures (as {@link KosmonautException}s). Default: logged through
   * {@link System.Logger} {@code io.webrocket.kosmonaut.Worker}.
   */
  public Worker onError(Consumer<Throwable> listener) {
    this.errors = java.util.Objects.requireNonNull(listener);
    return this;
  }

  /** Connects in the background and keeps connected until {@link #stop()}. A worker starts once. */
  public Worker start() {
    synchronized (monitor) {
      if (!state.equals("NEW")) {
        throw new IllegalStateException("a worker starts once (it is " + state + ")");
      }
      state = "RUNNING";
      room = new Semaphore(settings.handlerThreads + settings.queueCapacity);
      pool = new ThreadPoolExecutor(settings.handlerThreads, settings.handlerThreads, 30, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(), named("handler", true));
      pool.allowCoreThreadTimeOut(true);
      heartbeats = new ScheduledThreadPoolExecutor(1, named("heartbeat", true));
      long every = settings.heartbeatInterval.toMillis();
      heartbeats.scheduleAtFixedRate(this::heartbeat, every, every, TimeUnit.MILLISECONDS);
      socketThread = named("socket", false).newThread(this::run);
      socketThread.start();
    }
    return this;
  }

  /** Waits until the broker has registered this worker (it is receiving triggers). */
  public boolean awaitConnected(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (monitor) {
      while (!registered) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(monitor, left);
      }
      return true;
    }
  }

  /** True while the broker has this worker registered. */
  public boolean isConnected() {
    synchronized (monitor) {
      return registered;
    }
  }

  /**
   * Leaves: sends {@code QT} (no trigger arrives after it), then waits up to the stop timeout for
   * the handlers in flight and the triggers already received; when it returns, none of the
   * worker's threads runs any more (a handler that ignores interruption past the bound is the
   * one exception: its thread ends when it returns).
   */
  public void stop() {
    synchronized (monitor) {
      if (!state.equals("RUNNING")) {
        return;
      }
      state = "STOPPING";
      stopping = true;
    }
    Session s = session;
    if (s != null) {
      s.write(QT);
      s.close();
    }
    socketThread.interrupt(); // wakes a back-off sleep; a blocked read ends with the close
    try {
      socketThread.join(settings.connectTimeout.toMillis() + 1000);
      heartbeats.shutdownNow();
      heartbeats.awaitTermination(1, TimeUnit.SECONDS);
      pool.shutdown();
      if (Thread.currentThread().getName().startsWith(name + "-handler-")) {
        // Called by a handler: it cannot wait for itself; the others finish on their own.
        return;
      }
      if (!pool.awaitTermination(settings.stopTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        pool.shutdownNow();
        pool.awaitTermination(1, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      pool.shutdownNow();
    } finally {
      synchronized (monitor) {
        state = "STOPPED";
        registered = false;
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return "Worker(" + endpoint + ")";
  }

  // ---- the socket thread ----

  /** One connection to the broker. */
  private static final class Session {
    final Socket socket;
    final OutputStream out;
    volatile long lastHeard = System.nanoTime();
    /** Not reading because the handlers are full: the broker's silence is ours. */
    volatile boolean paused;

    Session(Socket socket) throws IOException {
      this.socket = socket;
      this.out = new BufferedOutputStream(socket.getOutputStream(), 512);
    }

    synchronized boolean write(byte[] message) {
      try {
        out.write(message);
        out.flush();
        return true;
      } catch (IOException e) {
        close();
        return false;
      }
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private void run() {
    int failures = 0;
    while (!stopping) {
      boolean wasRegistered = false;
      try {
        wasRegistered = session();
      } catch (KosmonautException e) {
        if (!stopping) {
          errors.accept(e);
        }
      }
      if (stopping) {
        break;
      }
      failures = wasRegistered ? 0 : failures + 1;
      sleep(backoff(failures));
    }
  }

  /** Connects, registers and reads until the connection ends; true if the broker had registered it. */
  private boolean session() {
    Socket socket;
    try {
      socket = endpoint.connect((int) settings.connectTimeout.toMillis());
      socket.setSoTimeout(0); // the heartbeat timer watches for silence
    } catch (IOException e) {
      throw new ConnectionException("cannot connect to " + endpoint + ": " + e, e);
    }
    Session s;
    try {
      s = new Session(socket);
    } catch (IOException e) {
      close(socket);
      throw new ConnectionException("cannot use the connection to " + endpoint + ": " + e, e);
    }
    session = s;
    if (stopping) { // stop() may have missed this session
      s.close();
      session = null;
      return false;
    }
    boolean wasRegistered = false;
    try {
      if (!s.write(Wire.encode(endpoint.identity("dlr"), "RD"))) {
        throw new ConnectionException("the connection to " + endpoint + " ended before RD", null);
      }
      Wire.Reader reader = new Wire.Reader(socket.getInputStream());
      while (true) {
        List<String> m = reader.read();
        if (m == null) {
          throw new ConnectionException("the broker closed the connection", null);
        }
        s.lastHeard = System.nanoTime();
        switch (m.get(0)) {
          case "HB" -> {
            if (!wasRegistered) {
              wasRegistered = true; // the broker beats once it has registered us
              setRegistered(true);
            }
          }
          case "TR" -> dispatch(s, m.size() > 1 ? m.get(1) : "");
          case "QT" -> {
            return wasRegistered; // the broker wants us to reconnect (shutdown, or it expired us)
          }
          case "ER" -> throw KosmonautException.fromBroker(Client.parseCode(m.size() > 1 ? m.get(1) : ""), "RD");
          default -> { } // nothing else is sent to workers; ignore rather than drop the connection
        }
      }
    } catch (IOException e) {
      if (!stopping) {
        errors.accept(new ConnectionException("the connection to " + endpoint + " ended: " + e, e));
      }
      return wasRegistered;
    } finally {
      session = null;
      s.close();
      setRegistered(false);
    }
  }

  private void setRegistered(boolean r) {
    synchronized (monitor) {
      registered = r && !stopping;
      monitor.notifyAll();
    }
  }

  /** Hands a trigger to a handler thread, waiting (not reading, still beating) while they are full. */
  private void dispatch(Session s, String frame) {
    Trigger t;
    try {
      t = Trigger.parse(frame);
    } catch (IllegalArgumentException e) {
      errors.accept(new KosmonautException(400, "a TR the library cannot read (" + e.getMessage() + "): " + frame));
      return;
    }
    TriggerHandler h = handlers.getOrDefault(t.event(), any);
    if (h == null) {
      errors.accept(new KosmonautException(400, "no handler for the trigger event " + t.event()));
      return;
    }
    s.paused = true;
    try {
      while (!room.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        if (stopping) {
          errors.accept(new KosmonautException(503, "stopping: dropped a trigger received while handlers were full: " + frame));
          return;
        }
      }
    } catch (InterruptedException e) {
      if (!stopping) {
        Thread.currentThread().interrupt();
      }
      return;
    } finally {
      s.paused = false;
      s.lastHeard = System.nanoTime();
    }
    try {
      pool.execute(() -> {
        try {
          h.handle(t);
        } catch (Throwable e) {
          errors.accept(e);
        } finally {
          room.release();
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      room.release();
      errors.accept(new KosmonautException(503, "stopped: dropped a trigger: " + frame));
    }
  }

  private void heartbeat() {
    Session s = session;
    if (s == null) {
      return;
    }
    if (!s.paused && System.nanoTime() - s.lastHeard > settings.brokerTimeout.toNanos()) {
      errors.accept(new ConnectionException("nothing from " + endpoint + " for " + settings.brokerTimeout
          + "; reconnecting", null));
      s.close(); // the socket thread's read ends, and it reconnects
      return;
    }
    s.write(HB);
  }

  /** Exponential back-off with jitter: min·2^(n-1), capped at max, then 50–100 % of that. */
  private long backoff(int failures) {
    long min = settings.reconnectMin.toMillis();
    long max = settings.reconnectMax.toMillis();
    long d = min << Math.min(20, Math.max(0, failures - 1));
    d = Math.min(max, d);
    return d / 2 + ThreadLocalRandom.current().nextLong(d / 2 + 1);
  }

  private void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      // stop() interrupts the back-off; the loop checks stopping
    }
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  private java.util.concurrent.ThreadFactory named(String role, boolean daemon) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + role + (role.equals("handler") ? "-" + n.incrementAndGet() : ""));
      t.setDaemon(daemon);
      return t;
    };
  }

  private static void log(Throwable e) {
    LOG.log(System.Logger.Level.WARNING, e.getMessage(), e instanceof KosmonautException ? null : e);
  }
}
