package io.webrocket.kosmonaut;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The library stands alone: its compiled classes refer to nothing but the JDK, jackson-core and
 * itself (no broker package, no Vert.x, no Netty, no Jackson databind), so target/kosmonaut.jar
 * runs with jackson-core beside it. The chat example uses the library the same way, plus the JDK's
 * HTTP server. Checked on the class files' constant pools (what the JVM will actually load) and on
 * the sources' imports (constants the compiler inlines leave no trace in a class file).
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(60)
class KosmonautDependenciesTest {
  static final List<String> LIBRARY = List.of("java/", "javax/net/", "javax/security/", "com/fasterxml/jackson/core/",
      "io/webrocket/kosmonaut/");

  @Test
  void theLibraryRefersOnlyToTheJdkAndJacksonCore() throws IOException {
    assertOnly(Paths.get("target/classes/io/webrocket/kosmonaut"), LIBRARY, 15);
    assertImportsOnly(Paths.get("src/main/java/io/webrocket/kosmonaut"), "io.webrocket.kosmonaut.");
  }

  @Test
  void theChatExampleUsesTheBrokerOnlyThroughTheLibrary() throws IOException {
    List<String> allowed = new ArrayList<>(LIBRARY);
    allowed.add("com/sun/net/httpserver/");
    allowed.add("io/webrocket/examples/");
    assertOnly(Paths.get("target/classes/io/webrocket/examples/chat"), allowed, 1);
    assertImportsOnly(Paths.get("examples/chat/src/main/java/io/webrocket/examples/chat"), "io.webrocket.kosmonaut.");
  }

  @Test
  void theCheckSeesAForbiddenReference() throws IOException {
    // This test class refers to the broker's fixtures: the same scan must find them.
    Set<String> refs = references(Paths.get("target/test-classes/io/webrocket/kosmonaut/KosmonautClientTest.class"));
    assertTrue(refs.contains("io/webrocket/test/TestNode"), refs.toString());
  }

  static void assertOnly(Path dir, List<String> allowed, int minClasses) throws IOException {
    List<Path> classes;
    try (Stream<Path> s = Files.walk(dir)) {
      classes = s.filter(p -> p.toString().endsWith(".class")).toList();
    }
    assertTrue(classes.size() >= minClasses, "compiled classes in " + dir + ": " + classes.size());
    Set<String> bad = new TreeSet<>();
    for (Path c : classes) {
      for (String ref : references(c)) {
        if (allowed.stream().noneMatch(ref::startsWith)) {
          bad.add(dir.relativize(c) + " -> " + ref);
        }
      }
    }
    assertEquals(Set.of(), bad, "references outside " + allowed);
  }

  static void assertImportsOnly(Path dir, String ownPrefix) throws IOException {
    Pattern imp = Pattern.compile("^import\\s+(static\\s+)?(io\\.webrocket\\.[\\w.]+)", Pattern.MULTILINE);
    Set<String> bad = new TreeSet<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(x -> x.toString().endsWith(".java")).toList()) {
        Matcher m = imp.matcher(Files.readString(p));
        while (m.find()) {
          if (!m.group(2).startsWith(ownPrefix) && !m.group(2).startsWith("io.webrocket.examples.")) {
            bad.add(p.getFileName() + ": " + m.group(2));
          }
        }
      }
    }
    assertEquals(Set.of(), bad, "imports of broker packages");
  }

  /** Every class a class file names: its constant pool's classes and the types in its descriptors. */
  static Set<String> references(Path classFile) throws IOException {
    Set<String> refs = new TreeSet<>();
    Pattern inDescriptor = Pattern.compile("L([\\w/$]+);");
    try (InputStream raw = Files.newInputStream(classFile); DataInputStream in = new DataInputStream(raw)) {
      if (in.readInt() != 0xCAFEBABE) {
        throw new IOException("not a class file: " + classFile);
      }
      in.readUnsignedShort();
      in.readUnsignedShort();
      int count = in.readUnsignedShort();
      String[] utf8 = new String[count];
      List<Integer> classIndexes = new ArrayList<>();
      for (int i = 1; i < count; i++) {
        int tag = in.readUnsignedByte();
        switch (tag) {
          case 1 -> utf8[i] = in.readUTF();
          case 7 -> classIndexes.add(in.readUnsignedShort());
          case 8, 16, 19, 20 -> in.readUnsignedShort();
          case 3, 4, 9, 10, 11, 12, 17, 18 -> in.readInt();
          case 15 -> {
            in.readUnsignedByte();
            in.readUnsignedShort();
          }
          case 5, 6 -> {
            in.readLong();
            i++; // takes two slots
          }
          default -> throw new IOException("constant pool tag " + tag + " in " + classFile);
        }
      }
      for (int idx : classIndexes) {
        String name = utf8[idx];
        Matcher m = inDescriptor.matcher(name);
        if (name.startsWith("[")) {
          while (m.find()) {
            refs.add(m.group(1));
          }
        } else {
          refs.add(name);
        }
      }
      for (String s : utf8) {
        if (s != null && (s.startsWith("(") || s.startsWith("L") || s.startsWith("["))) {
          Matcher m = inDescriptor.matcher(s);
          while (m.find()) {
            refs.add(m.group(1));
          }
        }
      }
    }
    return refs;
  }
}
