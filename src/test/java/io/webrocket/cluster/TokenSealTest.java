package io.webrocket.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonObject;
import io.webrocket.vhost.Secrets;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Vhost tokens in the cluster's map (no sockets): never in clear, readable only with the cluster's key. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class TokenSealTest {
  private static SecretKeySpec key(String secret) {
    return ClusterVhostGrid.sealKey(new JsonObject().put("name", "webrocket").put("secret", secret));
  }

  @Test
  void aSealedTokenHoldsItsHashButNotTheToken() {
    String token = Secrets.vhostToken();
    String value = ClusterVhostGrid.seal(key("s3cret"), token);
    assertFalse(value.contains(token), value);
    assertEquals(Secrets.fingerprint(token), new JsonObject(value).getString("hash"));
    assertEquals(token, ClusterVhostGrid.unseal(key("s3cret"), value));
    assertNotEquals(value, ClusterVhostGrid.seal(key("s3cret"), token), "a fresh IV every time");
  }

  @Test
  void anotherSecretCannotUnsealIt() {
    String value = ClusterVhostGrid.seal(key("s3cret"), Secrets.vhostToken());
    assertThrows(IllegalStateException.class, () -> ClusterVhostGrid.unseal(key("other"), value));
  }
}
