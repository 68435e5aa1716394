package io.webrocket;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The layering of ARCHITECTURE.md, checked on the compiled classes (so a fully qualified name
 * in the code counts like an import): the edges (browser, backend, admin) talk to the rest only
 * through typed clients and shared wire types; the protocol package and the Java client library
 * stand alone; Vert.x's internal API is used in one adapter.
 */
@Tag("fast")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LayeringTest {
  private static final String[] EDGES = {"io.webrocket.frontend..", "io.webrocket.backend..", "io.webrocket.admin.."};

  /**
   * What an edge may use of the registries' package: the typed registry API and its records
   * ({@code Registry}, nested types included), its event-bus client, this node's view of its
   * vhosts (subscribe and auth are answered from it), the single access token grid's interface
   * and the secrets' generation and comparison. Everything else there is the registries' own.
   */
  private static final Class<?>[] VHOST_API = {
      io.webrocket.vhost.Registry.class, io.webrocket.vhost.RegistryClient.class, io.webrocket.vhost.NodeView.class,
      io.webrocket.vhost.AccessTokenGrid.class, io.webrocket.vhost.Secrets.class};
  /** What an edge may use of the store: its event-bus client and the interface (and records) it implements. */
  private static final Class<?>[] STORE_API = {io.webrocket.store.Store.class, io.webrocket.store.StoreClient.class};

  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.webrocket");
  }

  @Test
  void edgesDoNotUseEachOther() {
    for (String edge : EDGES) {
      String[] others = java.util.Arrays.stream(EDGES).filter(e -> !e.equals(edge)).toArray(String[]::new);
      noClasses().that().resideInAPackage(edge)
          .should().dependOnClassesThat().resideInAnyPackage(others)
          .because("the edges talk over the event bus, never to each other")
          .check(classes);
    }
  }

  @Test
  void edgesDoNotUseTheClusterTheStoreOrTheLauncher() {
    noClasses().that().resideInAnyPackage(EDGES)
        .should().dependOnClassesThat().resideInAPackage("io.webrocket.cluster..")
        .orShould().dependOnClassesThat(resideInAPackage("io.webrocket.store..").and(not(belongToAnyOf(STORE_API))))
        .orShould().dependOnClassesThat().belongToAnyOf(Node.class, WebRocket.class)
        .because("edges reach the cluster and the store through typed clients over the event bus")
        .check(classes);
  }

  @Test
  void edgesUseOnlyTheRegistriesTypedApi() {
    noClasses().that().resideInAnyPackage(EDGES)
        .should().dependOnClassesThat(resideInAPackage("io.webrocket.vhost..").and(not(belongToAnyOf(VHOST_API))))
        .because("the registries' state and verticles are theirs alone; edges use the typed client")
        .check(classes);
  }

  @Test
  void protocolUsesNothingOfOurs() {
    noClasses().that().resideInAPackage("io.webrocket.protocol..")
        .should().dependOnClassesThat(resideInAPackage("io.webrocket..").and(not(resideInAPackage("io.webrocket.protocol.."))))
        .because("the wire types are shared by every layer and depend on none")
        .check(classes);
  }

  @Test
  void kosmonautUsesNothingOfTheServer() {
    noClasses().that().resideInAPackage("io.webrocket.kosmonaut..")
        .should().dependOnClassesThat(resideInAPackage("io.webrocket..").and(not(resideInAPackage("io.webrocket.kosmonaut.."))))
        .orShould().dependOnClassesThat().resideInAnyPackage("io.vertx..", "io.netty..")
        .because("the client library ships alone, with the JDK and jackson-core")
        .check(classes);
  }

  @Test
  void vertxInternalsOnlyInTheAdapter() {
    noClasses().that(not(resideInAPackage("io.webrocket.vertx..")))
        .should().dependOnClassesThat(resideInAnyPackage("io.vertx.core.internal..", "io.vertx..impl..",
            "io.vertx.core.spi.transport.."))
        .because("Vert.x's internal API may change in any release: one adapter (io.webrocket.vertx) holds it")
        .check(classes);
  }
}
