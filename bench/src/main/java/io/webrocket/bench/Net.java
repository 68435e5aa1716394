package io.webrocket.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The generator's one Netty event loop (the generator is pinned to one core: one thread does
 * all the I/O, so nothing competes for that core) and client bootstraps. Every connection binds
 * its own source address in 127.0.0.2-127.0.0.251, so tens of thousands of connections (and
 * their TIME_WAIT leftovers) never exhaust one address's ephemeral ports.
 */
final class Net {
  static final int SOURCE_ADDRESSES = 250;

  final EventLoopGroup group;
  final EventLoop loop;
  final boolean epoll;
  private final String transport;
  private final Class<? extends io.netty.channel.Channel> channelClass;

  /**
   * {@code BENCH_GEN_TRANSPORT} (io_uring, epoll or nio) picks the generator's transport; by
   * default io_uring where the kernel allows it (its reads cost the generator's core less, and at
   * N = 1,000 that core is the limit), else epoll, else NIO.
   */
  Net() {
    String wanted = System.getenv().getOrDefault("BENCH_GEN_TRANSPORT", "");
    boolean uring = (wanted.isEmpty() || wanted.equals("io_uring")) && io.netty.channel.uring.IoUring.isAvailable();
    epoll = !uring && !wanted.equals("nio") && Epoll.isAvailable();
    transport = uring ? "io_uring" : epoll ? "epoll" : "nio";
    group = new MultiThreadIoEventLoopGroup(1, uring ? io.netty.channel.uring.IoUringIoHandler.newFactory()
        : epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    loop = group.next();
    channelClass = uring ? io.netty.channel.uring.IoUringSocketChannel.class
        : epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  String transport() {
    return transport;
  }

  Bootstrap bootstrap(ChannelHandler handler) {
    Bootstrap b = new Bootstrap()
        .group(loop)
        .channel(channelClass)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .handler(handler);
    if (epoll) {
      // Pick the source port at connect() time (4-tuple unique), not at bind() time.
      b.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
    }
    return b;
  }

  static InetSocketAddress source(int i) {
    return new InetSocketAddress("127.0.0." + (2 + Math.floorMod(i, SOURCE_ADDRESSES)), 0);
  }

  void close() {
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  // ---- process probes ----

  /**
   * User+system CPU time of a process in clock ticks (100 Hz), or -1; {@code pids} may list
   * several processes separated by commas (the nodes of a cluster): the sum, or -1 if one is gone.
   */
  static long cpuTicks(String pids) {
    return sum(pids, Net::cpuTicksOf);
  }

  private static long sum(String pids, java.util.function.ToLongFunction<String> probe) {
    long total = 0;
    for (String pid : pids.split(",")) {
      long v = probe.applyAsLong(pid.trim());
      if (v < 0) {
        return -1;
      }
      total += v;
    }
    return total;
  }

  private static long cpuTicksOf(String pid) {
    try {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * CPU ticks of the process's JIT compiler threads (those named "C1/C2 CompilerThread..." in
   * /proc/PID/task/{@literal *}/stat), or -1: a cold server's compiler runs on the same pinned core
   * as its event loop and can use as much CPU as the work being measured.
   */
  static long jitTicks(String pid) {
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      long sum = 0;
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String s = Files.readString(t.resolve("stat"));
          String comm = s.substring(s.indexOf('(') + 1, s.lastIndexOf(')'));
          if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            sum += Long.parseLong(f[11]) + Long.parseLong(f[12]);
          }
        } catch (IOException | RuntimeException e) {
          // a thread that ended meanwhile
        }
      }
      return sum;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Nanoseconds the process's threads spent runnable but waiting for a CPU (sum of the second
   * field of /proc/PID/task/{@literal *}/schedstat), or -1. Growth during a step means something
   * else ran on the pinned core: the step was disturbed. Several pids (comma-separated): the sum.
   */
  static long runqWaitNs(String pids) {
    return sum(pids, Net::runqWaitNsOf);
  }

  private static long runqWaitNsOf(String pid) {
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      long sum = 0;
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String[] f = Files.readString(t.resolve("schedstat")).trim().split(" ");
          sum += Long.parseLong(f[1]);
        } catch (IOException | RuntimeException e) {
          // thread ended meanwhile
        }
      }
      return sum;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Ticks (100 Hz) that CPU {@code cpu} spent running processes (user, nice and system time of
   * its {@code /proc/stat} line; interrupt time left out, as it is not charged to processes
   * either), or -1. Minus the pinned servers' own ticks, this is what other processes took from
   * the servers' core.
   */
  static long cpuBusyTicks(int cpu) {
    try {
      String prefix = "cpu" + cpu + " ";
      for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
        if (line.startsWith(prefix)) {
          String[] f = line.substring(prefix.length()).trim().split("\\s+");
          return Long.parseLong(f[0]) + Long.parseLong(f[1]) + Long.parseLong(f[2]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** Runnable tasks on the machine right now (procs_running of /proc/stat, the reader included), or -1. */
  static int procsRunning() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
        if (line.startsWith("procs_running ")) {
          return Integer.parseInt(line.substring(14).trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /**
   * Waits (at most {@code maxMs}) until the machine looks quiet: ten samples in a row, 50 ms apart,
   * with at most one runnable task besides the reader. Between steps the server and the generator
   * are idle, so what runs then is somebody else. Returns the milliseconds waited.
   */
  static long waitQuiet(long maxMs) throws InterruptedException {
    long start = System.nanoTime();
    int quiet = 0;
    while (quiet < 10 && System.nanoTime() - start < maxMs * 1_000_000L) {
      int r = procsRunning();
      quiet = r >= 0 && r <= 2 ? quiet + 1 : 0;
      Thread.sleep(50);
    }
    return (System.nanoTime() - start) / 1_000_000L;
  }

  /** VmRSS in KiB, or -1. */
  static long rssKb(String pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return -1;
  }

  static String loadAvg() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  static int threads(String pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("Threads:")) {
          return Integer.parseInt(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return -1;
  }

  /** Runs {@code jcmd PID args...} and returns its output (empty on failure). Bounded to 60 s. */
  static String jcmd(String pid, String... args) {
    try {
      String[] cmd = new String[args.length + 2];
      cmd[0] = "jcmd";
      cmd[1] = pid;
      System.arraycopy(args, 0, cmd, 2, args.length);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroy();
      }
      return new String(out);
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /**
   * Java heap in use (KiB) from {@code jcmd GC.heap_info}: the sum of the "used" figures of the
   * generation / heap lines (Serial and Parallel list two generations, G1 one heap), or -1.
   */
  static long heapUsedKb(String pid) {
    var m = java.util.regex.Pattern.compile("(?m)^\\s*\\S.*(?:generation|heap)\\s+total \\d+K, used (\\d+)K")
        .matcher(jcmd(pid, "GC.heap_info"));
    long sum = -1;
    while (m.find()) {
      sum = Math.max(sum, 0) + Long.parseLong(m.group(1));
    }
    return sum;
  }

  /** The garbage collector's name as jcmd VM.info shows it ("serial", "g1", ...), or "?". */
  static String gc(String pid) {
    var m = java.util.regex.Pattern.compile("(?m)^# Java VM:.*?, ([a-z0-9]+) gc").matcher(jcmd(pid, "VM.info"));
    return m.find() ? m.group(1) : "?";
  }
}
