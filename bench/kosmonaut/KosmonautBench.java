import io.webrocket.kosmonaut.Client;
import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Kosmonaut client's cost over the wire protocol, against one broker: {@code broadcast} calls
 * per second and per-call latency from one {@link Client} with 1, 8 and 32 calling threads, next
 * to the same {@code BC} requests written by hand on one raw persistent ({@code KA}) connection
 * keeping 1, 8, 32 and 512 requests in flight. Same channel (no subscribers), same payload.
 *
 *   java -cp target/kosmonaut.jar:target/webrocket.jar bench/kosmonaut/KosmonautBench.java \
 *       BACKEND_PORT ADMIN_PORT COOKIE SECONDS OUT.json
 *
 * Run through bench/kosmonaut.sh (server pinned to CPU 0, this process to CPU 1).
 */
public class KosmonautBench {
  static final String CHANNEL = "bench";
  static final String DATA = "{\"s\":0,\"q\":0,\"t\":0,\"p\":\"" + "x".repeat(46) + "\"}";
  /** Latency samples kept per step (bounded memory); beyond it, every call still counts. */
  static final int MAX_SAMPLES = 2_000_000;

  static int backendPort;
  static String token;
  static double seconds;

  public static void main(String[] args) throws Exception {
    backendPort = Integer.parseInt(args[0]);
    int adminPort = Integer.parseInt(args[1]);
    String cookie = args[2];
    seconds = Double.parseDouble(args[3]);
    Path out = Path.of(args[4]);
    token = vhost(adminPort, cookie, "/bench");
    String url = "wr://" + token + "@127.0.0.1:" + backendPort + "/bench";
    List<String> rows = new ArrayList<>();
    try (Client setup = new Client(url)) {
      setup.openChannel(CHANNEL);
    }
    // A fresh server runs interpreted code at first: warm both paths up before measuring anything.
    double measured = seconds;
    seconds = 4;
    raw(64);
    library(url, 8);
    seconds = measured;
    System.out.printf("%-34s %12s %10s %10s %12s %8s%n", "mode", "calls/s", "p50 µs", "p99 µs", "CPU µs/call", "errors");
    for (int window : new int[] {1, 8, 32, 512}) {
      rows.add(report("raw KA, window " + window, raw(window)));
    }
    for (int threads : new int[] {1, 8, 32}) {
      rows.add(report("Client, " + threads + " thread" + (threads > 1 ? "s" : ""), library(url, threads)));
    }
    rows.add(report("Client async, 512 in flight", async(url, 512)));
    Files.writeString(out, "{\"secondsPerStep\":" + seconds + ",\"steps\":[\n  " + String.join(",\n  ", rows) + "\n]}\n");
  }

  /** cpuNs: this process's CPU time over the measured seconds (the library's cost per call shows there). */
  record Result(double rate, long calls, long errors, long[] latencyNs, long cpuNs) {}

  static long cpuNs() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  static String report(String mode, Result r) {
    long[] l = r.latencyNs();
    Arrays.sort(l);
    double p50 = l.length == 0 ? 0 : l[(int) (l.length * 0.50)] / 1000.0;
    double p99 = l.length == 0 ? 0 : l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1000.0;
    double cpuPerCall = r.calls() == 0 ? 0 : r.cpuNs() / 1000.0 / r.calls();
    System.out.printf("%-34s %,12.0f %10.1f %10.1f %12.1f %8d%n", mode, r.rate(), p50, p99, cpuPerCall, r.errors());
    return String.format(java.util.Locale.ROOT,
        "{\"mode\":\"%s\",\"callsPerSec\":%.0f,\"calls\":%d,\"errors\":%d,\"p50us\":%.1f,\"p99us\":%.1f,\"driverCpuUsPerCall\":%.1f}",
        mode, r.rate(), r.calls(), r.errors(), p50, p99, cpuPerCall);
  }

  /** The library: {@code threads} threads calling the synchronous broadcast in a loop. */
  static Result library(String url, int threads) throws Exception {
    try (Client client = new Client(url)) {
      client.broadcast(CHANNEL, "m", DATA); // connected
      AtomicBoolean measuring = new AtomicBoolean();
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicLong calls = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      long[][] samples = new long[threads][];
      int[] counts = new int[threads];
      CountDownLatch done = new CountDownLatch(threads);
      for (int t = 0; t < threads; t++) {
        int id = t;
        samples[t] = new long[MAX_SAMPLES / threads];
        Thread th = new Thread(() -> {
          long[] mine = samples[id];
          int n = 0;
          while (running.get()) {
            long t0 = System.nanoTime();
            try {
              client.broadcast(CHANNEL, "m", DATA);
            } catch (RuntimeException e) {
              errors.incrementAndGet();
            }
            if (measuring.get()) {
              calls.incrementAndGet();
              if (n < mine.length) {
                mine[n++] = System.nanoTime() - t0;
              }
            }
          }
          counts[id] = n;
          done.countDown();
        });
        th.start();
      }
      Thread.sleep(1000); // warm-up
      long c0 = calls.get();
      measuring.set(true);
      long cpu0 = cpuNs();
      long t0 = System.nanoTime();
      Thread.sleep((long) (seconds * 1000));
      long c1 = calls.get();
      double secs = (System.nanoTime() - t0) / 1e9;
      long cpu = cpuNs() - cpu0;
      measuring.set(false);
      running.set(false);
      done.await();
      long[] all = new long[Arrays.stream(counts).sum()];
      int k = 0;
      for (int t = 0; t < threads; t++) {
        System.arraycopy(samples[t], 0, all, k, counts[t]);
        k += counts[t];
      }
      return new Result((c1 - c0) / secs, c1 - c0, errors.get(), all, cpu);
    }
  }

  /** The library without a thread per call: one thread keeping {@code window} broadcastAsync calls in flight. */
  static Result async(String url, int window) throws Exception {
    try (Client client = new Client(url)) {
      client.broadcast(CHANNEL, "m", DATA);
      java.util.concurrent.Semaphore room = new java.util.concurrent.Semaphore(window);
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicBoolean measuring = new AtomicBoolean();
      AtomicLong calls = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      long[] samples = new long[MAX_SAMPLES];
      java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
      Thread caller = new Thread(() -> {
        try {
          while (running.get()) {
            room.acquire();
            long t0 = System.nanoTime();
            client.broadcastAsync(CHANNEL, "m", DATA).whenComplete((x, e) -> {
              if (e != null) {
                errors.incrementAndGet();
              }
              if (measuring.get()) {
                calls.incrementAndGet();
                int i = n.getAndIncrement();
                if (i < samples.length) {
                  samples[i] = System.nanoTime() - t0;
                }
              }
              room.release();
            });
          }
        } catch (InterruptedException e) {
          // done
        }
      });
      caller.start();
      Thread.sleep(1000);
      long c0 = calls.get();
      measuring.set(true);
      long cpu0 = cpuNs();
      long t0 = System.nanoTime();
      Thread.sleep((long) (seconds * 1000));
      long c1 = calls.get();
      double secs = (System.nanoTime() - t0) / 1e9;
      long cpu = cpuNs() - cpu0;
      measuring.set(false);
      running.set(false);
      caller.join(10_000);
      room.acquire(window); // every call answered before the client closes
      return new Result((c1 - c0) / secs, c1 - c0, errors.get(), Arrays.copyOf(samples, Math.min(n.get(), samples.length)), cpu);
    }
  }

  /** The wire protocol by hand: one KA connection, a writer keeping {@code window} BCs in flight, a reader counting replies. */
  static Result raw(int window) throws Exception {
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress("127.0.0.1", backendPort), 5000);
      OutputStream out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
      InputStream in = s.getInputStream();
      out.write(("req:/bench:" + token + ":" + UUID.randomUUID() + "\n\nKA\n\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] bc = ("BC\n" + CHANNEL + "\nm\n" + DATA + "\n\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
      ArrayBlockingQueue<Long> sentAt = new ArrayBlockingQueue<>(window + 1);
      java.util.concurrent.Semaphore room = new java.util.concurrent.Semaphore(window);
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicBoolean measuring = new AtomicBoolean();
      AtomicLong replies = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      long[] samples = new long[MAX_SAMPLES];
      int[] n = {0};
      boolean[] kaAnswered = {false};
      Thread reader = new Thread(() -> {
        byte[] buf = new byte[64 * 1024];
        int match = 0; // position in \r\n\r\n
        boolean atStart = true;
        boolean error = false;
        try {
          for (int r; (r = in.read(buf)) > 0; ) {
            for (int i = 0; i < r; i++) {
              byte b = buf[i];
              if (atStart) {
                error = b == 'E';
                atStart = false;
              }
              match = (b == "\r\n\r\n".charAt(match)) ? match + 1 : (b == '\r' ? 1 : 0);
              if (match == 4) {
                match = 0;
                atStart = true;
                if (!kaAnswered[0]) {
                  kaAnswered[0] = true;
                  continue;
                }
                long t0 = sentAt.poll();
                if (error) {
                  errors.incrementAndGet();
                }
                if (measuring.get()) {
                  replies.incrementAndGet();
                  if (n[0] < samples.length) {
                    samples[n[0]++] = System.nanoTime() - t0;
                  }
                }
                room.release();
              }
            }
          }
        } catch (Exception e) {
          // closed at the end
        }
      });
      reader.start();
      Thread writer = new Thread(() -> {
        try {
          while (running.get()) {
            if (!room.tryAcquire()) {
              out.flush(); // nothing more may go: send what is buffered, then wait for a reply
              room.acquire();
            }
            sentAt.add(System.nanoTime());
            out.write(bc);
          }
          out.flush();
        } catch (Exception e) {
          // closed at the end
        }
      });
      writer.start();
      Thread.sleep(1000);
      long r0 = replies.get();
      measuring.set(true);
      long cpu0 = cpuNs();
      long t0 = System.nanoTime();
      Thread.sleep((long) (seconds * 1000));
      long r1 = replies.get();
      double secs = (System.nanoTime() - t0) / 1e9;
      long cpu = cpuNs() - cpu0;
      measuring.set(false);
      running.set(false);
      room.release(window);
      writer.join(5000);
      Thread.sleep(200);
      s.close();
      reader.join(5000);
      return new Result((r1 - r0) / secs, r1 - r0, errors.get(), Arrays.copyOf(samples, Math.min(n[0], samples.length)), cpu);
    }
  }

  /** Creates {@code vhost} through the admin API and returns its access token. */
  static String vhost(int adminPort, String cookie, String vhost) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + vhost))
        .header("X-WebRocket-Cookie", cookie);
    String last = "";
    for (int attempt = 0; attempt < 60; attempt++) { // the admin port may answer before the node is ready
      http.send(b.copy().POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> r = http.send(b.copy().GET().build(), HttpResponse.BodyHandlers.ofString());
      last = r.statusCode() + " " + r.body();
      int i = r.body().indexOf("\"accessToken\"");
      if (r.statusCode() == 200 && i >= 0) {
        int start = r.body().indexOf('"', r.body().indexOf(':', i) + 1) + 1;
        return r.body().substring(start, r.body().indexOf('"', start));
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException("no vhost " + vhost + ": " + last);
  }
}
