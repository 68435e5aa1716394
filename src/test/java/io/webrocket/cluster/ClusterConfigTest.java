package io.webrocket.cluster;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.config.CommandLine;
import io.webrocket.config.Settings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code cluster} section: flags, environment, validation, and the Hazelcast configuration it makes. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
class ClusterConfigTest {
  private static JsonObject resolve(Map<String, String> env, String... args) {
    return Settings.resolve(new JsonObject(), env, Map.of(), CommandLine.parse(args).flags());
  }

  @Test
  void clusteringIsOffByDefault() {
    JsonObject c = resolve(Map.of()).getJsonObject("cluster");
    assertFalse(c.getBoolean("enabled"));
    assertEquals("127.0.0.1", c.getString("host"));
    assertEquals(5701, c.getInteger("port"));
    assertEquals("tcp", c.getString("join"));
  }

  @Test
  void theCommandLineFlagsSetTheClusterSection() {
    JsonObject c = resolve(Map.of(), "-cluster", "--cluster-host=10.0.0.5", "-cluster-port", "5801",
        "-cluster-members", "10.0.0.5:5801, 10.0.0.6:5801").getJsonObject("cluster");
    assertTrue(c.getBoolean("enabled"));
    assertEquals("10.0.0.5", c.getString("host"));
    assertEquals(5801, c.getInteger("port"));
    assertEquals(new JsonArray().add("10.0.0.5:5801").add("10.0.0.6:5801"), c.getJsonArray("members"));
  }

  @Test
  void theEnvironmentSetsItForContainers() {
    JsonObject c = resolve(Map.of("WEBROCKET_CLUSTER_ENABLED", "true", "WEBROCKET_CLUSTER_HOST", "auto",
        "WEBROCKET_CLUSTER_MEMBERS", "webrocket:5701", "WEBROCKET_CLUSTER_MINMEMBERS", "2")).getJsonObject("cluster");
    assertTrue(c.getBoolean("enabled"));
    assertEquals("auto", c.getString("host"));
    assertEquals(new JsonArray().add("webrocket:5701"), c.getJsonArray("members"));
    assertEquals(2, c.getInteger("minMembers"));
  }

  @Test
  void badValuesAreRefusedNamingTheKey() {
    for (String[] bad : new String[][] {
        {"WEBROCKET_CLUSTER_JOIN", "gossip", "cluster.join"},
        {"WEBROCKET_CLUSTER_PORT", "70000", "cluster.port"},
        {"WEBROCKET_CLUSTER_MEMBERS", "a b", "cluster.members"},
        {"WEBROCKET_CLUSTER_MINMEMBERS", "0", "cluster.minMembers"},
        {"WEBROCKET_CLUSTER_NAME", "bad name", "cluster.name"},
        {"WEBROCKET_ADMIN_COOKIE", "short", "admin.cookie"}}) {
      Settings.InvalidException e = assertThrows(Settings.InvalidException.class, () -> resolve(Map.of(bad[0], bad[1])));
      assertTrue(e.getMessage().startsWith(bad[2]), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> resolve(Map.of(), "-cluster-port", "many"));
  }

  @Test
  void hazelcastJoinsOverTcpOnTheListedMembersAndNeverPhonesHome() {
    JsonObject c = resolve(Map.of(), "-cluster", "-cluster-port", "5702",
        "-cluster-members", "127.0.0.1:5701,127.0.0.1:5702").getJsonObject("cluster");
    Config hz = Clustering.hazelcast(c, "n1");
    assertEquals("false", hz.getProperty("hazelcast.phone.home.enabled"));
    assertEquals("0", hz.getProperty("hazelcast.wait.seconds.before.join"));
    assertEquals(5702, hz.getNetworkConfig().getPort());
    assertFalse(hz.getNetworkConfig().isPortAutoIncrement());
    assertFalse(hz.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
    assertTrue(hz.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
    assertEquals(List.of("127.0.0.1:5701", "127.0.0.1:5702"), hz.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    assertEquals(List.of("127.0.0.1"), List.copyOf(hz.getNetworkConfig().getInterfaces().getInterfaces()));
    assertEquals("n1", hz.getMemberAttributeConfig().getAttribute(Clustering.NAME_ATTRIBUTE));
    // Vert.x's own map settings are kept.
    assertTrue(hz.getMapConfigs().keySet().stream().anyMatch(k -> k.startsWith("__vertx")));
  }

  @Test
  void aHostNameInTheMemberListStandsForEachOfItsAddresses() {
    // Hazelcast alone would try the first address only (a compose service name has one per replica).
    assertEquals(List.of("127.0.0.1:5701"), Clustering.members(new JsonArray().add("localhost:5701")));
    assertEquals(List.of("10.1.2.3:5701", "no-such-host.invalid:5701"),
        Clustering.members(new JsonArray().add("10.1.2.3:5701").add("no-such-host.invalid:5701")));
  }
}
