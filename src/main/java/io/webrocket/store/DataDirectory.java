package io.webrocket.store;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The node's data directory holds secrets (the admin cookie, vhost tokens, single access
 * tokens), in the SQLite files and the cookie file alike: it is created {@code 0700} and every
 * file in it is {@code 0600}, whatever the process's umask. Files are created with their mode
 * (never created and then narrowed: a reader could open one in between); SQLite gives its WAL,
 * SHM and journal files the mode of the database file, which is created here first.
 */
public final class DataDirectory {
  public static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
  public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  private DataDirectory() {}

  /**
   * Creates {@code dir} (and missing parents) {@code 0700}; an existing directory keeps its mode
   * (it may be shared on purpose), but the files in it are narrowed to {@code 0600}.
   */
  public static void prepare(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Path parent = dir.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        Files.createDirectory(dir, posix() ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(DIRECTORY)} : new FileAttribute<?>[0]);
        if (posix()) {
          Files.setPosixFilePermissions(dir, DIRECTORY); // the umask narrows the create mode, never widens it: exact now
        }
      } catch (FileAlreadyExistsException raced) {
        // made meanwhile by someone else: treated as existing
      }
    }
    if (!posix()) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.setPosixFilePermissions(f, FILE);
      }
    }
  }

  /** Creates {@code file} {@code 0600} if it does not exist yet (before SQLite or anyone else opens it). */
  public static void createPrivateFile(Path file) throws IOException {
    if (Files.exists(file)) {
      return;
    }
    try {
      Files.createFile(file, posix() ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0]);
    } catch (FileAlreadyExistsException raced) {
      // created meanwhile: prepare() narrowed what was there
    }
  }

  /** The {@code 0600} create attribute where the file system has POSIX modes, none elsewhere. */
  public static FileAttribute<?>[] privateFileAttributes() {
    return posix() ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0];
  }

  private static boolean posix() {
    return java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }
}
