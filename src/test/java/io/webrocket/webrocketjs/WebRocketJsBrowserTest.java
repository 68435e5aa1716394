package io.webrocket.webrocketjs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import io.webrocket.test.TestNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * webrocket.js, as served by the broker, in a real headless Chromium (Debian's {@code chromium}
 * and {@code chromium-driver}) against a real node, with {@link ChatBackend} standing in for the
 * example backend over WBP. One browser for the class; each test opens its own tabs. Skipped
 * where Chromium is not installed. Screenshots go to {@code target/webrocketjs-*.png}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebRocketJsBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String VHOST = "/chat";

  private static Path profile;
  private static ChromeDriver driver;
  private static TestNode node;
  private static ChatBackend backend;
  private static String vhostToken;

  @BeforeAll
  static void start() throws IOException {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "/usr/bin/chromium or /usr/bin/chromedriver is absent: apt-get install chromium chromium-driver to run this test");
    node = startNode(Files.createTempDirectory("webrocket-js"), 0, 0, 0);
    vhostToken = node.createVhost(VHOST);
    backend = new ChatBackend(VHOST, vhostToken, node.wsPort, node.backendPort);
    for (String room : List.of("lobby", "2012", "yoda", "errors", "restart", "presence3", "meanwhile")) {
      backend.openRoom(room);
    }
    backend.wbp("OC", "room-open");
    profile = Files.createTempDirectory("webrocket-chromium");
    driver = chromium(profile);
  }

  /** Node on the given ports (0: free ones), 503 for a trigger after 1 s instead of 5. */
  private static TestNode startNode(Path dataDir, int ws, int be, int admin) {
    JsonObject o = new JsonObject().put("websocket", new JsonObject().put("triggerTimeoutMs", 1000));
    if (ws != 0) {
      o.getJsonObject("websocket").put("port", ws);
      o.put("backend", new JsonObject().put("port", be)).put("admin", new JsonObject().put("port", admin));
    }
    return dataDir == null ? TestNode.start(o) : TestNode.start(dataDir, o);
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

  /** Each test leaves one blank tab behind. */
  @AfterEach
  void closeTabs() {
    if (driver == null) {
      return;
    }
    List<String> tabs = new ArrayList<>(driver.getWindowHandles());
    driver.switchTo().window(tabs.get(0)); // the current one may be closed
    driver.switchTo().newWindow(WindowType.TAB);
    String blank = driver.getWindowHandle();
    for (String t : tabs) {
      driver.switchTo().window(t).close();
    }
    driver.switchTo().window(blank);
  }

  // ---- the demo chat page ----

  @Test
  void twoPagesChatThroughTheDemoPage() throws IOException {
    String alice = openChat("alice");
    String bob = openChat("bob");

    // Both see both in the lobby's member list.
    for (String tab : List.of(alice, bob)) {
      driver.switchTo().window(tab);
      waitFor(d -> texts("#members li").equals(List.of("alice", "bob"))
          || texts("#members li").equals(List.of("bob", "alice")));
    }
    driver.switchTo().window(alice);
    say("hello bob");
    driver.switchTo().window(bob);
    waitFor(d -> texts("#messages li.message .text").contains("hello bob"));
    say("hi alice");
    driver.switchTo().window(alice);
    waitFor(d -> texts("#messages li.message .text").equals(List.of("hello bob", "hi alice")));
    assertEquals(List.of("alice", "bob"), texts("#messages li.message .user"));
    screenshot("chat-alice");

    // Alice's connection drops: the page says so, reconnects, and gets bob's next message.
    js("wr.socket.close(4000, 'test drop')");
    waitFor(d -> texts("#messages li.system").contains("Reconnected"));
    waitFor(d -> "connected".equals(d.findElement(By.id("status")).getText()));
    driver.switchTo().window(bob);
    say("still there?");
    driver.switchTo().window(alice);
    waitFor(d -> texts("#messages li.message .text").equals(List.of("hello bob", "hi alice", "still there?")));
    waitFor(d -> texts("#members li").equals(List.of("alice", "bob")) || texts("#members li").equals(List.of("bob", "alice")));

    // A new room: alice opens it and moves there; bob's lobby list loses her.
    driver.findElement(By.id("room-name")).sendKeys("garden");
    driver.findElement(By.cssSelector("#new-room button")).click();
    waitFor(d -> texts("#members li").equals(List.of("alice")));
    waitFor(d -> driver.findElement(By.id("room-title")).getText().equals("# garden"));
    driver.switchTo().window(bob);
    waitFor(d -> texts("#members li").equals(List.of("bob")));
    screenshot("chat-bob");
  }

  private String openChat(String name) {
    driver.switchTo().newWindow(WindowType.TAB);
    driver.get(backend.url("/"));
    driver.findElement(By.id("name")).sendKeys(name);
    driver.findElement(By.cssSelector("#login button")).click();
    waitFor(d -> "connected".equals(d.findElement(By.id("status")).getText()));
    return driver.getWindowHandle();
  }

  private void say(String text) {
    driver.findElement(By.id("text")).sendKeys(text);
    driver.findElement(By.cssSelector("#send button")).click();
  }

  // ---- presence ----

  @Test
  void presenceListsAgreeAcrossThreePagesAndAfterOneDrops() throws IOException {
    String channel = "presence-room-presence3";
    List<String> tabs = new ArrayList<>();
    for (String uid : List.of("p1", "p2", "p3")) {
      tabs.add(harness("presence " + uid));
      js("window.wr = new WebRocket(arguments[0], {reconnectDelay: 200});"
          + "wr.authenticate(() => fetch('/webrocket/auth.json?uid=' + arguments[1]).then(r => r.json()));"
          + "window.room = wr.subscribe(arguments[2], {name: arguments[1].toUpperCase()});"
          + "['memberJoined', 'memberLeft'].forEach(e => room.bind(':' + e, m => { log(':' + e + ' ' + m.uid); showMembers(room); }));"
          + "room.bind(':subscribed', () => showMembers(room));"
          + "wr.bind(':reconnected', () => log(':reconnected'));",
          wsUrl(), uid, channel);
    }
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> members().equals("p1=P1,p2=P2,p3=P3"));
    }

    // p2's connection drops (as a network failure would): it reconnects, re-authenticates, and
    // the lists agree again; p1 saw p2 leave and come back.
    driver.switchTo().window(tabs.get(1));
    js("wr.socket.close(4000, 'test drop');");
    waitFor(d -> transcript().contains(":reconnected"));
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> members().equals("p1=P1,p2=P2,p3=P3"));
    }
    driver.switchTo().window(tabs.get(0));
    waitFor(d -> transcript().contains(":memberLeft p2") && transcript().lastIndexOf(":memberJoined p2") > transcript().indexOf(":memberLeft p2"));
    assertEquals(2, backend.tokensIssued.get("p2").get(), "p2 authenticated again through its callback");

    // p3's page goes away for good: the others' lists lose it.
    driver.switchTo().window(tabs.get(2)).close();
    for (String tab : tabs.subList(0, 2)) {
      driver.switchTo().window(tab);
      waitFor(d -> members().equals("p1=P1,p2=P2"));
      waitFor(d -> transcript().contains(":memberLeft p3"));
    }
    screenshot("presence");
  }

  /**
   * A page that was away gets its presence list rebuilt when it is back, with who left and who
   * joined meanwhile reported as events, and without "rejoining" itself.
   */
  @Test
  void presenceListIsRebuiltAfterAReconnectWithWhatHappenedMeanwhile() {
    String channel = "presence-room-meanwhile";
    String join = "window.wr = new WebRocket(arguments[0], arguments[3]);"
        + "wr.authenticate(() => fetch('/webrocket/auth.json?uid=' + arguments[1]).then(r => r.json()));"
        + "window.room = wr.subscribe(arguments[2], {name: arguments[1].toUpperCase()});"
        + "['memberJoined', 'memberLeft'].forEach(e => room.bind(':' + e, m => { log(':' + e + ' ' + m.uid); showMembers(room); }));"
        + "room.bind(':subscribed', () => showMembers(room));"
        + "wr.bind(':reconnected', () => log(':reconnected'));";
    // m1 does not reconnect by itself (maxRetries 0): the test brings it back when it wants.
    String m1 = harness("meanwhile m1");
    js(join, wsUrl(), "m1", channel, java.util.Map.of("maxRetries", 0));
    String m2 = harness("meanwhile m2");
    js(join, wsUrl(), "m2", channel, java.util.Map.of());
    for (String tab : List.of(m1, m2)) {
      driver.switchTo().window(tab);
      waitFor(d -> members().equals("m1=M1,m2=M2"));
    }
    driver.switchTo().window(m1);
    js("wr.socket.close(4000, 'away')");
    waitFor(d -> "closed".equals(js("return wr.state")));

    // Meanwhile m2 goes and m3 comes.
    driver.switchTo().window(m2).close();
    driver.switchTo().window(m1);
    String m3 = harness("meanwhile m3");
    js(join, wsUrl(), "m3", channel, java.util.Map.of());
    waitFor(d -> members().equals("m3=M3"));

    driver.switchTo().window(m1);
    assertEquals("m1=M1,m2=M2", members(), "nothing heard while away");
    js("wr.reconnect()");
    waitFor(d -> transcript().contains(":reconnected"));
    assertEquals("m1=M1,m3=M3", members());
    List<String> t = transcript();
    assertTrue(t.contains(":memberLeft m2") && t.contains(":memberJoined m3"), t.toString());
    assertEquals(1, count(t, ":memberJoined m1"), "no second join of its own: " + t);
    driver.switchTo().window(m3);
    waitFor(d -> members().equals("m1=M1,m3=M3"));
  }

  // ---- node restart ----

  @Test
  void pageKeepsReceivingAfterTheNodeRestarts() throws IOException {
    String channel = "presence-room-restart";
    List<String> tabs = new ArrayList<>();
    for (String uid : List.of("r1", "r2")) {
      tabs.add(harness("restart " + uid));
      js("window.wr = new WebRocket(arguments[0], {reconnectDelay: 300, maxReconnectDelay: 2000});"
          + "wr.authenticate(() => fetch('/webrocket/auth.json?uid=' + arguments[1]).then(r => r.json()));"
          + "window.room = wr.subscribe(arguments[2], {name: arguments[1]});"
          + "window.news = wr.subscribe('room-open');"
          + "news.bind('news', d => log('news ' + d.n));"
          + "room.bind(':subscribed', () => { log(':subscribed ' + room.subscribers.length); showMembers(room); });"
          + "room.bind(':memberJoined', () => showMembers(room));"
          + "wr.bind(':disconnected', e => { log(':disconnected'); document.getElementById('state').textContent = wr.state; });"
          + "wr.bind(':reconnected', () => { log(':reconnected'); document.getElementById('state').textContent = wr.state; });",
          wsUrl(), uid, channel);
    }
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> members().equals("r1=r1,r2=r2"));
    }
    backend.wbp("BC", "room-open", "news", "{\"n\":1}");
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> transcript().contains("news 1"));
    }

    // Restart the node on the same ports and data directory.
    Path dataDir = node.dataDir;
    int ws = node.wsPort;
    int be = node.backendPort;
    int admin = node.adminPort;
    node.close();
    node = startNode(dataDir, ws, be, admin);

    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> transcript().contains(":disconnected") && transcript().contains(":reconnected"));
      waitFor(d -> members().equals("r1=r1,r2=r2"));
      assertEquals("connected", js("return wr.state"));
    }
    assertTrue(backend.tokensIssued.get("r1").get() >= 2, "re-authenticated through the callback");
    backend.wbp("BC", "room-open", "news", "{\"n\":2}");
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> transcript().contains("news 2"));
    }
    // One subscription each, not two: exactly one copy of each broadcast, two subscribers listed.
    backend.wbp("BC", "room-open", "news", "{\"n\":3}");
    for (String tab : tabs) {
      driver.switchTo().window(tab);
      waitFor(d -> transcript().contains("news 3"));
      assertEquals(1, count(transcript(), "news 2"));
      assertEquals(1, count(transcript(), "news 3"));
    }
    assertEquals(2, node.admin().json(VHOST + "/channels/room-open").getJsonObject("channel").getJsonObject("subscribers").getInteger("size"), "no duplicate subscription");
    screenshot("restart");
  }

  // ---- errors ----

  @Test
  void failingTokenCallbackSurfacesAsAnErrorThePageShows() throws IOException {
    harness("token callback fails");
    backend.refuse.add("mallory");
    js("window.wr = new WebRocket(arguments[0]);"
        + "wr.bind(':error', e => { log(':error ' + e.code); showError(e); });"
        + "wr.authenticate(() => fetch('/webrocket/auth.json?uid=mallory').then(r => { if (!r.ok) throw new Error('auth service said ' + r.status); return r.json(); }))"
        + "  .then(() => log('authenticated'), e => log('rejected ' + e.code + ' ' + e.message));"
        + "window.room = wr.subscribe('presence-room-errors');"
        + "room.ready.then(() => log('subscribed'), e => log('subscribe rejected ' + e.code));",
        wsUrl());
    waitFor(d -> transcript().contains("rejected 402 token callback failed: auth service said 500"));
    // Without authentication the presence channel is forbidden: that reaches the caller too.
    waitFor(d -> transcript().contains("subscribe rejected 403"));
    waitFor(d -> driver.findElement(By.id("error")).getText().equals(
        "Error 402: token callback failed: auth service said 500\nError 403: subscribe presence-room-errors: 403 Forbidden"));
    assertTrue(transcript().contains(":error 402"));
    screenshot("token-callback-error");
  }

  @Test
  void errorRepliesReachTheCaller() {
    harness("errors");
    String result = (String) ((JavascriptExecutor) driver).executeAsyncScript(
        "var done = arguments[arguments.length - 1];"
        + "var out = [];"
        + "var wr = new WebRocket(arguments[0]);"
        + "wr.bind(':error', e => out.push('event ' + e.code + ' ' + (e.request || '-')));"
        + "(async () => {"
        + "  try { await wr.subscribe('no-such-channel').ready; out.push('subscribed?'); } catch (e) { out.push('ready ' + e.code + ' ' + e.status); }"
        + "  try { await wr.subscribe('presence-room-errors').ready; } catch (e) { out.push('presence ' + e.code); }"
        + "  try { await wr.authenticate('f'.repeat(128)); } catch (e) { out.push('auth ' + e.code); }"
        + "  const token = (await (await fetch('/webrocket/auth.json?uid=erin')).json()).token;"
        + "  await wr.authenticate(token); out.push('auth ok ' + wr.authenticated);"
        + "  const room = wr.subscribe('presence-room-errors', {name: 'Erin'});"
        + "  await room.ready; out.push('ready ' + room.state);"
        + "  room.bind(':error', e => out.push('channel ' + e.code));"
        + "  out.push('broadcast ' + wr.broadcast('room-open', 'x', {}));"
        + "  await new Promise(r => setTimeout(r, 100));"
        + "  done(out.join('\\n'));"
        + "})();",
        wsUrl());
    assertEquals(String.join("\n",
        "event 454 subscribe",
        "ready 454 Channel not found",
        "event 403 subscribe",
        "presence 403",
        "event 402 auth",
        "auth 402",
        "auth ok true",
        "ready subscribed",
        "event 453 -",
        "broadcast false"), result);
  }

  @Test
  void triggerWithoutWorkerIs503OnTheErrorHandler() {
    harness("503");
    // A vhost with no worker: a trigger waits triggerTimeoutMs (1 s here), then 503.
    String token = node.createVhost("/lonely");
    String at = io.webrocket.test.WbpClient.connect(node.backendPort).request(
        io.webrocket.test.WbpClient.identity("req", "/lonely", token), "AT", "u", ".*").get(1);
    js("window.wr = new WebRocket('ws://127.0.0.1:' + arguments[0] + '/lonely');"
        + "wr.bind(':error', e => log(':error ' + e.code + ' ' + e.request + ' ' + e.event));"
        + "wr.authenticate(arguments[1]).then(() => wr.trigger('job', {n: 1}));",
        node.wsPort, at);
    waitFor(d -> transcript().contains(":error 503 trigger job"));
  }

  // ---- the 2012 API ----

  @Test
  void the2012ApiRunsUnchanged() throws IOException {
    String yoda = backend.accessToken("yoda");
    String luke = backend.accessToken("luke");
    int before = backend.triggers.size();
    driver.switchTo().newWindow(WindowType.TAB);
    driver.get(backend.url("/test/normal_usage_2012.html?ws=" + node.wsPort + "&vhost=" + VHOST + "&token=" + yoda + "&token2=" + luke));
    waitFor(d -> Boolean.TRUE.equals(js("return window.done === true")));
    assertEquals(String.join("\n",
        "channels []",
        ":connected connected",
        "state subscribing",
        ":subscribed subscribed presence-room-2012",
        ":memberJoined yoda Yoda",
        ":memberJoined luke Luke",
        "subscribers luke=Luke,yoda=Yoda",
        "find Luke get Yoda",
        ":memberLeft luke Luke left 1",
        "hello hi presence-room-2012 true",
        "bye bye",
        ":unsubscribed unsubscribed",
        ":closed closed"), driver.findElement(By.id("log")).getText());
    screenshot("2012-api");
    // The broadcast's trigger and wr.trigger reached the worker.
    waitFor(d -> backend.triggers.size() >= before + 2);
    List<String> events = backend.triggers.subList(before, backend.triggers.size()).stream()
        .map(t -> t.fieldNames().iterator().next()).toList();
    assertTrue(events.contains("store") && events.contains("ping"), events.toString());
  }

  @Test
  void yodachatRoomCallsRunUnchanged() {
    driver.switchTo().newWindow(WindowType.TAB);
    driver.get(backend.url("/test/yodachat_2012.html?ws=" + node.wsPort + "&vhost=" + VHOST + "&uid=yoda"));
    waitFor(d -> texts("#chatlog li").equals(List.of("yoda joined the room", "yoda: there, hello it is")));
  }

  // ---- measurement ----

  @Test
  void connectToSubscribedTime() {
    harness("timing");
    String out = (String) ((JavascriptExecutor) driver).executeAsyncScript(
        "var done = arguments[arguments.length - 1];"
        + "(async () => {"
        + "  const open = [], presence = [];"
        + "  for (let i = 0; i < 21; i++) {"
        + "    let t = performance.now();"
        + "    let wr = new WebRocket(arguments[0]);"
        + "    await wr.subscribe('room-open').ready; open.push(performance.now() - t); await wr.close();"
        + "    const token = (await (await fetch('/webrocket/auth.json?uid=t' + i)).json()).token;"
        + "    t = performance.now();"
        + "    wr = new WebRocket(arguments[0]); wr.authenticate(token);"
        + "    await wr.subscribe('presence-room-lobby', {name: 't'}).ready; presence.push(performance.now() - t); await wr.close();"
        + "  }"
        + "  const median = a => a.sort((x, y) => x - y)[a.length >> 1].toFixed(1);"
        + "  done('open ' + median(open) + ' ms, presence+auth ' + median(presence) + ' ms');"
        + "})();",
        wsUrl());
    System.out.println("connect to :subscribed, median of 21 in headless Chromium: " + out);
    log(out);
  }

  // ---- helpers ----

  private static String wsUrl() {
    return "ws://127.0.0.1:" + node.wsPort + VHOST;
  }

  /** Opens the harness page in a new tab, with webrocket.js loaded from the node. */
  private String harness(String title) {
    driver.switchTo().newWindow(WindowType.TAB);
    driver.get(backend.url("/test/harness.html?ws=" + node.wsPort));
    waitFor(d -> Boolean.TRUE.equals(js("return window.loaded === true")));
    js("document.getElementById('title').textContent = arguments[0]", title);
    return driver.getWindowHandle();
  }

  private static void log(String line) {
    js("log(arguments[0])", line);
  }

  private static Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  @SuppressWarnings("unchecked")
  private static List<String> transcript() {
    return (List<String>) js("return window.transcript");
  }

  /** The page's presence list as sorted uid=name. */
  private static String members() {
    return (String) js("return room.subscribers.map(m => m.uid + '=' + m.data.name).sort().join(',')");
  }

  /** The text of each element {@code selector} matches, read in one go (the pages re-render lists). */
  @SuppressWarnings("unchecked")
  private static List<String> texts(String selector) {
    return (List<String>) js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim())", selector);
  }

  private static long count(List<String> lines, String line) {
    return lines.stream().filter(line::equals).count();
  }

  private static void waitFor(java.util.function.Function<WebDriver, Boolean> condition) {
    try {
      new WebDriverWait(driver, WAIT).ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition::apply);
    } catch (org.openqa.selenium.TimeoutException e) {
      // What the page shows, for the report.
      throw new AssertionError("condition not met; page text:\n" + js("return document.body.innerText"), e);
    }
  }

  private static void screenshot(String name) throws IOException {
    Path shot = Path.of("target", "webrocketjs-" + name + ".png").toAbsolutePath();
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
        // Tabs in the background keep their timers (reconnect backoff) at full speed.
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
        "--window-size=1000,700", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }
}
