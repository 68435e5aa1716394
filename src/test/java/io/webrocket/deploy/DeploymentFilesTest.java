package io.webrocket.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The clustered deployment: docker-compose.yml (postgres, N webrocket replicas, haproxy) and
 * conf/haproxy.cfg. No Docker engine is needed; no YAML parser is on the test classpath, so the
 * compose file is read as indented lines.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class DeploymentFilesTest {
  private static final Path COMPOSE = Path.of("docker-compose.yml");
  private static final Path HAPROXY = Path.of("conf/haproxy.cfg");

  /** The lines of one service's block (indented under {@code services:}), without comments. */
  private static List<String> service(String name) throws IOException {
    List<String> block = new ArrayList<>();
    boolean inServices = false;
    boolean in = false;
    for (String raw : Files.readAllLines(COMPOSE, StandardCharsets.UTF_8)) {
      String line = raw.replaceAll("\\s+#.*$", "");
      if (line.isBlank() || line.trim().startsWith("#")) {
        continue;
      }
      int indent = line.length() - line.stripLeading().length();
      if (indent == 0) {
        inServices = line.equals("services:");
        in = false;
      } else if (inServices && indent == 2) {
        in = line.trim().equals(name + ":");
      } else if (in) {
        block.add(line);
      }
    }
    assertFalse(block.isEmpty(), "service " + name + " in " + COMPOSE);
    return block;
  }

  /** The lines nested under {@code key:} inside a block (e.g. a service's ports). */
  private static List<String> under(List<String> block, String key) {
    List<String> out = new ArrayList<>();
    int keyIndent = -1;
    for (String line : block) {
      int indent = line.length() - line.stripLeading().length();
      if (keyIndent >= 0 && indent <= keyIndent) {
        break;
      }
      if (keyIndent >= 0) {
        out.add(line.trim());
      } else if (line.trim().equals(key + ":")) {
        keyIndent = indent;
      }
    }
    return out;
  }

  private static boolean hasKey(List<String> block, String key) {
    return block.stream().anyMatch(l -> l.trim().startsWith(key + ":"));
  }

  @Test
  void theWebrocketServicePublishesNoPortAndHasNoContainerNameSoItScales() throws IOException {
    List<String> wr = service("webrocket");
    assertFalse(hasKey(wr, "ports"), "replicas are reached through lb only");
    assertFalse(hasKey(wr, "container_name"), "a fixed name forbids --scale");
    assertFalse(hasKey(wr, "WEBROCKET_NODE_NAME"), "each replica takes its host name as node name");
  }

  @Test
  void theWebrocketServiceRunsClusteredOnThePostgresStoreWithASharedCookie() throws IOException {
    List<String> env = under(service("webrocket"), "environment");
    assertTrue(env.contains("WEBROCKET_CLUSTER_ENABLED: \"true\""), env.toString());
    assertTrue(env.contains("WEBROCKET_CLUSTER_JOIN: tcp"), env.toString());
    assertTrue(env.stream().anyMatch(l -> l.matches("WEBROCKET_CLUSTER_MEMBERS: webrocket-peers(:5701)?")), env.toString());
    assertTrue(env.contains("WEBROCKET_STORE_TYPE: postgres"), env.toString());
    assertTrue(env.contains("WEBROCKET_STORE_POSTGRES_HOST: postgres"), env.toString());
    assertTrue(env.stream().anyMatch(l -> l.startsWith("WEBROCKET_ADMIN_COOKIE:")), env.toString());
    List<String> dependsOn = under(service("webrocket"), "depends_on");
    assertEquals(List.of("postgres:", "condition: service_healthy"), dependsOn);
  }

  @Test
  void theClusterLinkStaysOnAnInternalNetworkAndNeedsTheSecret() throws IOException {
    List<String> wr = service("webrocket");
    List<String> env = under(wr, "environment");
    assertTrue(env.stream().anyMatch(l -> l.startsWith("WEBROCKET_CLUSTER_SECRET: ${WEBROCKET_CLUSTER_SECRET:?")),
        "the secret is required, with no default: " + env);
    assertTrue(env.stream().anyMatch(l -> l.matches("WEBROCKET_CLUSTER_HOST: \\$\\{WEBROCKET_CLUSTER_HOST:-172\\.29\\.53\\.\\*}")),
        "the cluster listens on the internal network's address, not 'auto' (every interface): " + env);
    List<String> nets = under(wr, "networks");
    assertTrue(nets.contains("cluster:") && nets.contains("aliases: [webrocket-peers]"), nets.toString());
    String compose = Files.readString(COMPOSE, StandardCharsets.UTF_8);
    assertTrue(compose.matches("(?s).*\\nnetworks:\\n  #[^\\n]*\\n(  #[^\\n]*\\n)*  cluster:\\n    internal: true\\n.*"), "cluster network internal");
    String dockerfile = Files.readString(Path.of("Dockerfile"), StandardCharsets.UTF_8);
    assertTrue(dockerfile.lines().filter(l -> l.startsWith("EXPOSE")).noneMatch(l -> l.contains("5701")),
        "the Hazelcast port is not exposed");
  }

  @Test
  void theWebrocketHealthcheckAsksReady() throws IOException {
    List<String> check = under(service("webrocket"), "healthcheck");
    assertTrue(check.stream().anyMatch(l -> l.startsWith("test:") && l.contains("http://127.0.0.1:8082/ready")),
        check.toString());
  }

  @Test
  void postgresHasAHealthcheckAndANamedVolume() throws IOException {
    List<String> pg = service("postgres");
    assertTrue(pg.stream().anyMatch(l -> l.trim().equals("image: postgres:15")), pg.toString());
    assertTrue(under(pg, "healthcheck").stream().anyMatch(l -> l.contains("pg_isready")), pg.toString());
    assertTrue(under(pg, "volumes").stream().anyMatch(l -> l.matches("- [\\w-]+:/var/lib/postgresql/data")),
        pg.toString());
  }

  @Test
  void theBalancerPublishesTheThreePortsAndMountsItsConfig() throws IOException {
    List<String> lb = service("lb");
    assertTrue(lb.stream().anyMatch(l -> l.trim().equals("image: haproxy:2.6")), lb.toString());
    List<String> ports = under(lb, "ports");
    for (int port : new int[] {8080, 8081, 8082}) {
      assertTrue(ports.stream().anyMatch(l -> l.matches("- \"(127\\.0\\.0\\.1:)?" + port + ":" + port + "\"")),
          port + " in " + ports);
    }
    assertTrue(under(lb, "volumes").contains("- ./conf/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"),
        lb.toString());
  }

  @Test
  void haproxyHasABackendForEachPortOverTheDiscoveredReplicas() throws IOException {
    String cfg = Files.readString(HAPROXY, StandardCharsets.UTF_8);
    assertTrue(cfg.contains("nameserver dns 127.0.0.11:53"), "Docker's embedded DNS");
    assertTrue(cfg.matches("(?s).*\\n\\s*timeout tunnel \\S+.*"), "WebSocket and WBP need a tunnel timeout");
    for (String[] p : new String[][] {{"8080", "http"}, {"8081", "tcp"}, {"8082", "http"}}) {
      String backend = section(cfg, "webrocket:" + p[0]);
      assertNotNull(backend, "a backend over webrocket:" + p[0]);
      assertTrue(backend.contains("mode " + p[1]), backend);
      assertTrue(backend.contains("option httpchk GET /ready"), backend);
      assertTrue(cfg.contains("bind :" + p[0]), "a frontend on " + p[0]);
    }
    assertTrue(cfg.contains("init-addr none"), "start before any replica resolves");
  }

  /** The {@code backend} section whose server-template targets {@code target}, or null. */
  private static String section(String cfg, String target) {
    for (String s : cfg.split("\\n(?=\\S)")) {
      if (s.startsWith("backend ") && s.matches("(?s).*\\n\\s*server-template webrocket- \\d+ " + target + "\\b.*")) {
        return s;
      }
    }
    return null;
  }

  @Test
  void haproxyAcceptsItsConfig() throws Exception {
    String haproxy = onPath("haproxy");
    assumeTrue(haproxy != null, "haproxy is not installed");
    Process p = new ProcessBuilder(haproxy, "-c", "-f", HAPROXY.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "haproxy -c did not finish");
    assertEquals(0, p.exitValue(), out);
  }

  private static String onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, command);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }
}
