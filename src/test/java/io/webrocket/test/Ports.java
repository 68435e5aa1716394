package io.webrocket.test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one place tests choose ports for servers that bind them later (nodes, Hazelcast members,
 * child JVMs, PostgreSQL). A port is unique across every test JVM on the machine, not just
 * within one: each handed-out port is reserved by an exclusive lock on a file named after it
 * in {@code ${java.io.tmpdir}/webrocket-test-ports/}, held until this JVM exits (the OS drops
 * the lock then, even on a kill). So two surefire forks, or two engineers' runs, never get the
 * same port, however long a node takes to bind it.
 *
 * <p>Ports come from 20000-31999, below the kernel's ephemeral range (32768 and up here): an
 * ephemeral port could be taken meanwhile by any outgoing connection (clustered nodes make many).
 */
public final class Ports {
  private static final int FIRST = 20_000;
  private static final int COUNT = 12_000;
  private static final Path DIR = Path.of(System.getProperty("java.io.tmpdir"), "webrocket-test-ports");
  /** The locks this JVM holds, by port; never released before exit (a port may be bound again after a restart). */
  private static final Map<Integer, FileLock> HELD = new ConcurrentHashMap<>();

  private Ports() {}

  /** A port no other test JVM has reserved and nothing listens on now. */
  public static int reserve() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int tries = 0; tries < 500; tries++) {
      int port = FIRST + r.nextInt(COUNT);
      if (HELD.containsKey(port) || !lock(port)) {
        continue;
      }
      if (listenable(port)) {
        return port;
      }
      // In use by something outside the tests: keep the lock so it is not tried again.
    }
    throw new IllegalStateException("no free port in " + FIRST + "-" + (FIRST + COUNT - 1));
  }

  private static boolean lock(int port) {
    try {
      Files.createDirectories(DIR);
      FileChannel ch = FileChannel.open(DIR.resolve(Integer.toString(port)),
          StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException sameJvm) {
        lock = null;
      }
      if (lock == null) {
        ch.close();
        return false;
      }
      HELD.put(port, lock);
      return true;
    } catch (IOException e) {
      throw new IllegalStateException("cannot reserve a port under " + DIR + ": " + e, e);
    }
  }

  private static boolean listenable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException inUse) {
      return false;
    }
  }
}
