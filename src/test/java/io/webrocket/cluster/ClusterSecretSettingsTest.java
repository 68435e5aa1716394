package io.webrocket.cluster;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.webrocket.config.Settings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code cluster.secret}, {@code cluster.tls} and the listening address, without sockets: the
 * Hazelcast cluster name a secret makes, that the secret never shows in a message, and the
 * event-bus TLS options. The clustered behaviour is in {@link ClusterSecurityCases}.
 */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(30)
class ClusterSecretSettingsTest {
  private static final String SECRET = "s3cret-s3cret-s3cret";

  private static JsonObject cluster(Map<String, String> env) {
    return Settings.resolve(new JsonObject(), env, Map.of(), new JsonObject()).getJsonObject("cluster");
  }

  @Test
  void theSecretComesFromTheEnvironmentAndIsOffByDefault() {
    assertNull(cluster(Map.of()).getValue("secret"));
    assertEquals(SECRET, cluster(Map.of("WEBROCKET_CLUSTER_SECRET", SECRET)).getString("secret"));
    assertNull(cluster(Map.of("WEBROCKET_CLUSTER_SECRET", "")).getValue("secret"), "empty means none");
  }

  @Test
  void aShortSecretIsRefusedWithoutShowingIt() {
    Settings.InvalidException e = assertThrows(Settings.InvalidException.class,
        () -> cluster(Map.of("WEBROCKET_CLUSTER_SECRET", "tooshort-xyz")));
    assertTrue(e.getMessage().startsWith("cluster.secret"), e.getMessage());
    assertFalse(e.getMessage().contains("tooshort-xyz"), e.getMessage());
  }

  @Test
  void theHazelcastClusterNameIsTheNameAloneWithoutSecretAndAnHmacWithOne() {
    JsonObject plain = cluster(Map.of("WEBROCKET_CLUSTER_NAME", "prod"));
    assertEquals("prod", Clustering.hazelcastClusterName(plain));
    JsonObject secured = cluster(Map.of("WEBROCKET_CLUSTER_NAME", "prod", "WEBROCKET_CLUSTER_SECRET", SECRET));
    String name = Clustering.hazelcastClusterName(secured);
    assertTrue(name.matches("prod-[0-9a-f]{32}"), name);
    assertFalse(name.contains(SECRET));
    assertEquals(name, Clustering.hazelcastClusterName(secured.copy()), "every node with the secret derives the same name");
    assertNotEquals(name, Clustering.hazelcastClusterName(secured.copy().put("secret", SECRET + "x")));
    assertNotEquals(name.substring(5), Clustering.hazelcastClusterName(secured.copy().put("name", "test")).substring(5),
        "bound to the cluster name too");
  }

  @Test
  void withASecretHazelcastKeepsTheNameOutOfItsLogLinesAndAlwaysBindsOneAddress() {
    JsonObject secured = cluster(Map.of("WEBROCKET_CLUSTER_SECRET", SECRET));
    Config hz = Clustering.hazelcast(secured, "n1");
    assertEquals("false", hz.getProperty("hazelcast.logging.details.enabled"));
    assertEquals("false", hz.getProperty("hazelcast.socket.bind.any"));
    assertEquals(List.of("127.0.0.1"), List.copyOf(hz.getNetworkConfig().getInterfaces().getInterfaces()));
    assertFalse(hz.getNetworkConfig().getRestApiConfig().isEnabled());
    assertNull(Clustering.hazelcast(cluster(Map.of()), "n1").getProperty("hazelcast.logging.details.enabled"));
  }

  @Test
  void theClusterHostIsOneAddressNeverEveryInterface() {
    assertEquals("127.0.0.1", Clustering.resolveHost("127.0.0.*"));
    assertEquals("127.0.0.1", Clustering.resolveHost("localhost"));
    assertNotEquals("0.0.0.0", Clustering.resolveHost("auto"));
    assertTrue(Clustering.resolveHost("auto").matches("\\d+\\.\\d+\\.\\d+\\.\\d+"));
    // TEST-NET-3: no machine has it.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Clustering.resolveHost("203.0.113.*"));
    assertTrue(e.getMessage().contains("matches no address"), e.getMessage());
    assertEquals("10.0.5.*", cluster(Map.of("WEBROCKET_CLUSTER_HOST", "10.0.5.*")).getString("host"));
    assertThrows(Settings.InvalidException.class, () -> cluster(Map.of("WEBROCKET_CLUSTER_HOST", "10.*.x")));
  }

  @Test
  void clusterTlsNeedsCertAndKeyTogether() {
    assertThrows(Settings.InvalidException.class, () -> cluster(Map.of("WEBROCKET_CLUSTER_TLS_CERT", "/c.pem")));
    assertThrows(Settings.InvalidException.class, () -> cluster(Map.of("WEBROCKET_CLUSTER_TLS_CA", "/ca.pem")));
    JsonObject ok = cluster(Map.of("WEBROCKET_CLUSTER_TLS_CERT", "/c.pem", "WEBROCKET_CLUSTER_TLS_KEY", "/k.pem"));
    assertEquals("/c.pem", ok.getJsonObject("tls").getString("cert"));
  }

  @Test
  void theBusRunsMutualTlsFromClusterTlsOrElseTlsAndNeverTrustsTheBrowsersCa() {
    JsonObject none = cluster(Map.of());
    EventBusOptions plain = new EventBusOptions();
    assertFalse(Clustering.busTls(plain, none, new JsonObject()));
    assertFalse(plain.isSsl());

    JsonObject own = cluster(Map.of("WEBROCKET_CLUSTER_TLS_CERT", "/n.pem", "WEBROCKET_CLUSTER_TLS_KEY", "/n.key",
        "WEBROCKET_CLUSTER_TLS_CA", "/ca.pem"));
    EventBusOptions a = new EventBusOptions();
    assertTrue(Clustering.busTls(a, own, new JsonObject().put("cert", "/public.pem").put("key", "/public.key")));
    assertTrue(a.isSsl());
    assertEquals(ClientAuth.REQUIRED, a.getClientAuth());
    assertEquals(List.of("/ca.pem"), ((PemTrustOptions) a.getTrustOptions()).getCertPaths());

    // Only the server's tls: the nodes share that certificate and trust exactly it, not tls.clientCa.
    EventBusOptions b = new EventBusOptions();
    assertTrue(Clustering.busTls(b, none, new JsonObject().put("cert", "/public.pem").put("key", "/public.key")
        .put("clientCa", "/browsers-ca.pem")));
    assertEquals(ClientAuth.REQUIRED, b.getClientAuth());
    assertEquals(List.of("/public.pem"), ((PemTrustOptions) b.getTrustOptions()).getCertPaths());
  }
}
