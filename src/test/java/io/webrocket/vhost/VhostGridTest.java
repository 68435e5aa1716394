package io.webrocket.vhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A node's own vhost grid (no sockets): each change is decided once, channels go with their vhost. */
@Tag("fast") // no sockets, no nodes: runs in the fast tier (mvn -Pfast test)
@Timeout(10)
class VhostGridTest {
  private final LocalVhostGrid grid = new LocalVhostGrid();

  @Test
  void aVhostIsCreatedOnceAndRetokenedOnlyWhileItExists() {
    assertTrue(grid.createVhost("/a", "t1").result());
    assertFalse(grid.createVhost("/a", "t2").result(), "a second create is refused");
    assertEquals("t1", grid.token("/a").result());
    assertTrue(grid.setToken("/a", "t3").result());
    assertEquals(Map.of("/a", "t3"), grid.vhosts().result());
    assertFalse(grid.setToken("/missing", "t").result(), "no vhost is created by a re-token");
    assertNull(grid.token("/missing").result());
  }

  @Test
  void aChannelIsOpenedAndClosedOnceAndOnlyInAnExistingVhost() {
    assertFalse(grid.openChannel("/none", "c").result());
    grid.createVhost("/a", "t");
    assertTrue(grid.openChannel("/a", "c").result());
    assertFalse(grid.openChannel("/a", "c").result(), "open already");
    assertTrue(grid.openChannel("/a", "b").result());
    assertEquals(List.of("b", "c"), grid.channels("/a").result());
    assertEquals(2, grid.channelCount("/a").result());
    assertTrue(grid.closeChannel("/a", "c").result());
    assertFalse(grid.closeChannel("/a", "c").result(), "closed already");
    assertFalse(grid.channelOpen("/a", "c").result());
    assertFalse(grid.closeChannel("/none", "c").result());
  }

  @Test
  void closingEveryChannelOrDeletingTheVhostLeavesNone() {
    grid.createVhost("/a", "t");
    grid.openChannel("/a", "x");
    grid.openChannel("/a", "y");
    assertEquals(List.of("x", "y"), grid.closeChannels("/a").result());
    assertEquals(0, grid.channelCount("/a").result());
    grid.openChannel("/a", "z");
    assertTrue(grid.deleteVhost("/a").result());
    assertFalse(grid.deleteVhost("/a").result());
    grid.createVhost("/a", "t2");
    assertFalse(grid.channelOpen("/a", "z").result(), "a vhost created again starts with no channels");
  }

  @Test
  void theStoreIsLoadedOnce() {
    assertFalse(grid.loaded().result());
    grid.markLoaded();
    assertTrue(grid.loaded().result());
  }
}
