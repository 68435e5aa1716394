package io.webrocket.examples.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The demo chat as a user runs it: a real node, the real example backend ({@link ChatBackend},
 * started from its command-line flags, on a free port, pointed at the node's WBP port and handing
 * pages the node's WebSocket URL), and its page {@code examples/chat/web/} in headless Chromium
 * (Debian's {@code chromium} and {@code chromium-driver}; skipped where they are absent), loading
 * webrocket.js from the node. One browser for the class. Screenshots go to
 * {@code target/chat-demo-*.png}.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ChatDemoBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration WAIT = Duration.ofSeconds(20);

  private static TestNode node;
  private static ChatBackend backend;
  private static Path profile;
  private static ChromeDriver driver;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws IOException {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "/usr/bin/chromium or /usr/bin/chromedriver is absent: apt-get install chromium chromium-driver to run this test");
    node = TestNode.start();
    String token = node.createVhost("/demo");
    // The README's command, with the ports of this node instead of the defaults.
    String[] args = {"--port", "0", "--node-url", "wr://" + token + "@127.0.0.1:" + node.backendPort + "/demo",
        "--ws-url", "ws://127.0.0.1:" + node.wsPort + "/demo", "--web", Path.of("examples/chat/web").toAbsolutePath().toString()};
    backend = ChatBackend.start(ChatBackend.Settings.from(args, Map.of()));
    profile = Files.createTempDirectory("chat-demo-chromium");
    driver = chromium(profile);
  }

  @AfterAll
  static void stop() throws IOException {
    if (driver != null) {
      driver.quit();
    }
    if (backend != null) {
      backend.close();
    }
    if (node != null) {
      node.close();
    }
    if (profile != null) {
      try (var paths = Files.walk(profile)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Each test leaves one blank tab behind (closing a page's tab closes its connection). */
  @AfterEach
  void closeTabs() {
    if (driver == null) {
      return;
    }
    List<String> tabs = new ArrayList<>(driver.getWindowHandles());
    driver.switchTo().window(tabs.get(0));
    driver.switchTo().newWindow(WindowType.TAB);
    String blank = driver.getWindowHandle();
    for (String t : tabs) {
      driver.switchTo().window(t).close();
    }
    driver.switchTo().window(blank);
  }

  @Test
  void twoPagesChatRestBroadcastsArriveLatePagesGetHistoryAndRoomsOpen() throws Exception {
    String alice = openChat("alice");
    String bob = openChat("bob");

    // Presence: each sees both in the lobby's member list.
    for (String tab : List.of(alice, bob)) {
      driver.switchTo().window(tab);
      waitFor(d -> sorted(texts("#members li")).equals(List.of("alice", "bob")));
      assertEquals("# lobby", driver.findElement(By.id("room-title")).getText());
    }

    // A line typed in alice's page goes to the worker as a trigger; its broadcast reaches both.
    driver.switchTo().window(alice);
    say("hello bob");
    for (String tab : List.of(alice, bob)) {
      driver.switchTo().window(tab);
      waitFor(d -> texts("#messages li.message .text").equals(List.of("hello bob")));
      assertEquals(List.of("alice"), texts("#messages li.message .user"));
    }

    // A REST broadcast from the backend reaches both pages.
    HttpResponse<String> r = post("/broadcast", new JsonObject().put("room", "lobby").put("text", "maintenance at noon").encode());
    assertEquals(200, r.statusCode(), r.body());
    for (String tab : List.of(bob, alice)) {
      driver.switchTo().window(tab);
      waitFor(d -> texts("#messages li.message .text").equals(List.of("hello bob", "maintenance at noon")));
      assertEquals(List.of("alice", "system"), texts("#messages li.message .user"));
    }
    screenshot("alice");

    // A page joining later is shown the room's history, and the others see it join.
    String carol = openChat("carol");
    waitFor(d -> texts("#messages li.message .text").equals(List.of("hello bob", "maintenance at noon")));
    waitFor(d -> sorted(texts("#members li")).equals(List.of("alice", "bob", "carol")));
    driver.switchTo().window(bob);
    waitFor(d -> sorted(texts("#members li")).equals(List.of("alice", "bob", "carol")));
    waitFor(d -> texts("#messages li.system").contains("carol joined"));

    // Carol opens a room from the page and moves there; the lobby loses her.
    driver.switchTo().window(carol);
    driver.findElement(By.id("room-name")).sendKeys("kitchen");
    driver.findElement(By.cssSelector("#new-room button")).click();
    waitFor(d -> "# kitchen".equals(d.findElement(By.id("room-title")).getText()));
    waitFor(d -> texts("#members li").equals(List.of("carol")));
    assertTrue(texts("#messages li.message").isEmpty(), "a new room has no history");
    waitFor(d -> texts("#rooms li").equals(List.of("# kitchen", "# lobby")));
    assertEquals(new JsonArray().add("kitchen").add("lobby"), new JsonArray(get("/rooms").body()));
    say("kettle is on");
    waitFor(d -> texts("#messages li.message .text").equals(List.of("kettle is on")));
    driver.switchTo().window(bob);
    waitFor(d -> sorted(texts("#members li")).equals(List.of("alice", "bob")));
    assertEquals(List.of("hello bob", "maintenance at noon"), texts("#messages li.message .text"),
        "a line in another room does not show in the lobby");

    // Bob follows her there through the room list and gets that room's history.
    driver.navigate().refresh(); // the room list is read when a page joins a room
    driver.findElement(By.cssSelector("#login button")).click(); // the name is kept in sessionStorage
    waitFor(d -> "connected".equals(d.findElement(By.id("status")).getText()));
    waitFor(d -> texts("#rooms li").equals(List.of("# kitchen", "# lobby")));
    driver.findElement(By.cssSelector("#rooms li[data-room='kitchen'] button")).click();
    waitFor(d -> "# kitchen".equals(d.findElement(By.id("room-title")).getText()));
    waitFor(d -> texts("#messages li.message .text").equals(List.of("kettle is on")));
    waitFor(d -> sorted(texts("#members li")).equals(List.of("bob", "carol")));
    driver.switchTo().window(carol);
    waitFor(d -> sorted(texts("#members li")).equals(List.of("bob", "carol")));
    screenshot("carol");

    // The backend kept what it broadcast, as its REST API shows.
    JsonArray lobby = new JsonArray(get("/rooms/lobby/messages").body());
    assertEquals(2, lobby.size(), lobby.encode());
    assertEquals("alice", lobby.getJsonObject(0).getString("user"));
    assertEquals("system", lobby.getJsonObject(1).getString("user"));
  }

  @Test
  void thePageLoadsWebrocketJsFromTheNodeNotFromTheBackend() throws Exception {
    assertEquals(404, get("/webrocket.js").statusCode());
    openChat("dave");
    String src = (String) js("return Array.from(document.scripts).map(s => s.src).find(s => s.endsWith('/webrocket.js'))");
    assertEquals("http://127.0.0.1:" + node.wsPort + "/webrocket.js", src);
    assertEquals("connected", js("return wr.state"));
    // The form refuses what the backend would refuse (400), before asking it.
    assertEquals(false, valid("room-name", "Big Room"));
    assertEquals(false, valid("room-name", "kitchen_2"));
    assertEquals(true, valid("room-name", "kitchen-2"));
    assertEquals(false, valid("name", "dave smith"));
    assertEquals(true, valid("name", "dave.smith-2_x"));
  }

  /** Whether the page's input {@code id} accepts {@code value}. */
  private static Object valid(String id, String value) {
    return js("const i = document.getElementById(arguments[0]); const old = i.value; i.value = arguments[1];"
        + " const ok = i.checkValidity(); i.value = old; return ok", id, value);
  }

  // ---- helpers ----

  private String openChat(String name) {
    driver.switchTo().newWindow(WindowType.TAB);
    driver.get("http://127.0.0.1:" + backend.port() + "/");
    driver.findElement(By.id("name")).sendKeys(name);
    driver.findElement(By.cssSelector("#login button")).click();
    waitFor(d -> "connected".equals(d.findElement(By.id("status")).getText()));
    return driver.getWindowHandle();
  }

  private static void say(String text) {
    driver.findElement(By.id("text")).sendKeys(text);
    driver.findElement(By.cssSelector("#send button")).click();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backend.port() + path)).GET()
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backend.port() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  /** The text of each element {@code selector} matches, read in one go (the page re-renders lists). */
  @SuppressWarnings("unchecked")
  private static List<String> texts(String selector) {
    return (List<String>) js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim())", selector);
  }

  private static List<String> sorted(List<String> list) {
    List<String> copy = new ArrayList<>(list);
    copy.sort(null);
    return copy;
  }

  private static void waitFor(Function<WebDriver, Boolean> condition) {
    try {
      new WebDriverWait(driver, WAIT).ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition::apply);
    } catch (org.openqa.selenium.TimeoutException e) {
      // What the page shows, for the report.
      throw new AssertionError("condition not met; page text:\n" + js("return document.body.innerText"), e);
    }
  }

  private static void screenshot(String name) throws IOException {
    Path shot = Path.of("target", "chat-demo-" + name + ".png").toAbsolutePath();
    Files.createDirectories(shot.getParent());
    File png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
    Files.copy(png.toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
    System.out.println("screenshot: " + shot);
  }

  private static ChromeDriver chromium(Path profile) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        // Tabs in the background keep their timers at full speed.
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
        "--window-size=1000,700", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }
}
