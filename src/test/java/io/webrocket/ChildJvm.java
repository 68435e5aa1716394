package io.webrocket;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code io.webrocket.WebRocket} in a separate JVM (java + the flags of the pom's {@code jdk.addOpens} and {@code jdk.addExports} +
 * this JVM's class path), with its stdout and stderr collected line by line. Always close it:
 * {@link #close()} kills the process (SIGKILL) if it still runs.
 */
final class ChildJvm implements AutoCloseable {
  private final Process process;
  private final List<String> out = new ArrayList<>();
  private final List<String> err = new ArrayList<>();

  private ChildJvm(Process process) {
    this.process = process;
    pump(process.getInputStream(), out);
    pump(process.getErrorStream(), err);
  }

  /**
   * Starts {@code WebRocket.main(args)}. {@code workDir} is the child's working directory (a
   * fresh one, so that no {@code conf/webrocket.json} is picked up by accident).
   */
  static ChildJvm start(Path workDir, List<String> jvmFlags, Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jdkOpens());
    // Short-lived test JVMs on a small machine: quick start-up over peak speed.
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.addAll(jvmFlags);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.webrocket.WebRocket");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("WEBROCKET_"));
    pb.environment().putAll(env);
    try {
      return new ChildJvm(pb.start());
    } catch (IOException e) {
      throw new IllegalStateException("cannot start a JVM: " + e, e);
    }
  }

  /**
   * The Hazelcast flags, made from the pom's {@code jdk.addExports} and {@code jdk.addOpens} lists
   * as the pom makes surefire's argLine (tests run in the project directory).
   */
  static List<String> jdkOpens() {
    try {
      String pom = Files.readString(Path.of("pom.xml"));
      List<String> flags = new ArrayList<>();
      for (String[] kind : new String[][] {{"jdk.addExports", "--add-exports"}, {"jdk.addOpens", "--add-opens"}}) {
        Matcher m = Pattern.compile("<" + Pattern.quote(kind[0]) + ">(.*?)</", Pattern.DOTALL).matcher(pom);
        if (!m.find()) {
          throw new IllegalStateException("pom.xml has no " + kind[0] + " property");
        }
        for (String modulePackage : m.group(1).trim().split("\\s+")) {
          flags.add(kind[1]);
          flags.add(modulePackage + "=ALL-UNNAMED");
        }
      }
      return flags;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void pump(InputStream in, List<String> lines) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (lines) {
            lines.add(line);
            lines.notifyAll();
          }
        }
      } catch (IOException ignored) {
        // the process is gone
      }
    }, "child-jvm-pump");
    t.setDaemon(true);
    t.start();
  }

  /** Waits (bounded) for a stdout line matching {@code p}; returns it. Fails early if the process exits. */
  String awaitStdout(Predicate<String> p, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    synchronized (out) {
      while (true) {
        for (String l : out) {
          if (p.test(l)) {
            return l;
          }
        }
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          throw new AssertionError("no such line on stdout within " + timeoutMs + " ms; " + describe());
        }
        if (!process.isAlive()) {
          // Give the pump a moment to read what is left, then one last look.
          try {
            out.wait(200);
          } catch (InterruptedException e) {
            throw new AssertionError(e);
          }
          for (String l : out) {
            if (p.test(l)) {
              return l;
            }
          }
          throw new AssertionError("process exited (" + process.exitValue() + ") first; " + describe());
        }
        try {
          out.wait(Math.min(left, 100));
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      }
    }
  }

  /**
   * Waits for the banner's last line ({@code cookie: ...}) and returns the cookie: printed there
   * with {@code -print-secrets}, otherwise read from the file the line names (stdout here is a
   * pipe, not a terminal, so the node does not print it).
   */
  String awaitStarted() {
    String line = awaitStdout(l -> l.trim().startsWith("cookie:"), 60_000);
    String value = line.trim().substring("cookie:".length()).trim();
    if (value.matches("[0-9a-f]{40}")) {
      return value;
    }
    Matcher m = Pattern.compile("^in (.+\\.cookie) \\(not printed").matcher(value);
    if (!m.find()) {
      throw new AssertionError("no cookie and no cookie file on the banner's last line: " + line);
    }
    try {
      return Files.readString(Path.of(m.group(1))).trim();
    } catch (IOException e) {
      throw new AssertionError("cannot read the cookie file the banner names: " + line, e);
    }
  }

  /** Waits (bounded) for the process to exit on its own; returns the exit code. */
  int awaitExit(long timeoutMs) {
    try {
      if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
        throw new AssertionError("process still running after " + timeoutMs + " ms; " + describe());
      }
      // Let the pumps reach the end of both streams.
      Thread.sleep(100);
      return process.exitValue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  String stdout() {
    synchronized (out) {
      return String.join("\n", out);
    }
  }

  String stderr() {
    synchronized (err) {
      return String.join("\n", err);
    }
  }

  String describe() {
    return "stdout:\n" + stdout() + "\nstderr:\n" + stderr();
  }

  /** SIGTERM, as {@code kill PID}: the broker shuts down gracefully. Does not wait. */
  void terminate() {
    process.destroy();
  }

  /** SIGKILL, as {@code kill -9}: no shutdown hook runs. Waits until the process is gone. */
  void kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError("child JVM did not die");
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }
}
