package io.webrocket.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}), against a real node, with a real WebSocket subscriber.
 * Skipped where Chromium is not installed; CI installs it.
 */
class ConsoleBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void operatorManagesVhostsAndChannelsAndSeesSubscribersLive() throws IOException {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "/usr/bin/chromium or /usr/bin/chromedriver is absent: apt-get install chromium chromium-driver to run this test");
    Path profile = Files.createTempDirectory("webrocket-chromium");
    try (TestNode n = TestNode.start()) {
      WebDriver driver = chromium(profile);
      try {
        // The page re-renders a table when its data changes: an element found just before may be gone.
        WebDriverWait wait = new WebDriverWait(driver, WAIT);
        wait.ignoring(StaleElementReferenceException.class);
        wait.pollingEvery(Duration.ofMillis(100));
        // Refreshed every second instead of every 3 s: the waits below are a refresh or two each.
        // A rate chart shows its last sample, so a burst's rate is on screen for one refresh:
        // the wait looks every 100 ms, well within it.
        driver.get("http://127.0.0.1:" + n.adminPort + "/console/?refreshMs=1000");

        // A wrong cookie is refused with a message; the right one opens the console.
        logIn(driver, "0".repeat(40));
        wait.until(ExpectedConditions.textToBe(By.id("message"), "Wrong cookie."));
        assertTrue(driver.findElement(By.id("login")).isDisplayed());
        logIn(driver, n.cookie());
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("console")));
        wait.until(ExpectedConditions.textToBe(By.id("node-name"), "node test"));
        assertEquals("test", driver.findElement(By.cssSelector("#members li")).getText());

        // Create a vhost through the UI: it is listed and selected, its token hidden until asked for.
        driver.findElement(By.id("vhost-path")).sendKeys("/shop");
        driver.findElement(By.cssSelector("#vhost-form button[type=submit]")).click();
        By shopRow = By.cssSelector("tr[data-vhost='/shop']");
        wait.until(ExpectedConditions.presenceOfElementLocated(shopRow));
        wait.until(ExpectedConditions.textToBe(By.id("vhost-name"), "/shop"));
        String token = n.admin().token("/shop");
        By tokenCell = By.cssSelector("tr[data-vhost='/shop'] td.token code");
        assertTrue(!driver.findElement(tokenCell).getText().contains(token), "token hidden at first");
        driver.findElement(By.cssSelector("tr[data-vhost='/shop'] button.reveal")).click();
        wait.until(ExpectedConditions.textToBe(tokenCell, token));

        // Open a channel through the UI: listed with no subscribers.
        driver.findElement(By.id("channel-name")).sendKeys("news");
        driver.findElement(By.cssSelector("#channel-form button[type=submit]")).click();
        By subscribers = By.cssSelector("tr[data-channel='news'] td.subscribers");
        wait.until(ExpectedConditions.textToBe(subscribers, "0"));
        assertEquals(200, n.admin().call("GET", "/shop/channels/news").statusCode());

        // The vhost's history rules (extension): none in the file; set through WARI, shown with their source.
        wait.until(ExpectedConditions.textToBe(By.id("history-rules"), "History rules (file): none"));
        assertEquals(200, n.admin().send("PUT", "/shop/history", "{\"news\": {\"size\": 10, \"lifetimeMs\": 60000}}").statusCode());
        wait.until(ExpectedConditions.textToBe(By.id("history-rules"), "History rules (admin): news size 10, 60 s"));
        assertEquals(202, n.admin().call("DELETE", "/shop/history").statusCode());

        // A real browser connection subscribes: the page shows it within a refresh or two.
        try (WsClient browser = n.ws("/shop")) {
          browser.subscribe("news");
          wait.until(ExpectedConditions.textToBe(subscribers, "1"));
          wait.until(ExpectedConditions.textToBe(By.cssSelector(".chart[data-series='connections'] .value"), "1"));

          // Some traffic for the rate charts, then a picture of the console.
          for (int i = 0; i < 3; i++) {
            try (WbpClient backend = n.wbp()) {
              assertEquals(List.of("OK", ""),
                  backend.request(WbpClient.identity("req", "/shop", token), "BC", "news", "hello", "{}"));
            }
            browser.expect("hello");
          }
          wait.until(d -> !"0".equals(d.findElement(By.cssSelector(".chart[data-series='delivered'] .value")).getText())
              && !"–".equals(d.findElement(By.cssSelector(".chart[data-series='delivered'] .value")).getText()));
          Path shot = Path.of("target", "console-screenshot.png").toAbsolutePath();
          Files.createDirectories(shot.getParent());
          File png = ((ChromeDriver) driver).getScreenshotAs(OutputType.FILE);
          Files.copy(png.toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
          System.out.println("console screenshot: " + shot);
        }
        wait.until(ExpectedConditions.textToBe(subscribers, "0"));

        // Regenerate the token through the UI: the page shows the new one, the old one is gone.
        driver.findElement(By.cssSelector("tr[data-vhost='/shop'] button.regenerate")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(d -> !d.findElement(tokenCell).getText().equals(token));
        String newToken = n.admin().token("/shop");
        assertNotEquals(token, newToken);
        wait.until(ExpectedConditions.textToBe(tokenCell, newToken));

        // Close the channel, then delete the vhost, through the UI.
        driver.findElement(By.cssSelector("tr[data-channel='news'] button.delete")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.invisibilityOfElementLocated(By.cssSelector("tr[data-channel='news']")));
        assertEquals(404, n.admin().call("GET", "/shop/channels/news").statusCode());
        driver.findElement(By.cssSelector("tr[data-vhost='/shop'] button.delete")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.invisibilityOfElementLocated(shopRow));
        assertEquals(404, n.admin().call("GET", "/shop").statusCode());

        // The cookie lasts for the browser session: a reload stays logged in; logging out forgets it.
        driver.navigate().refresh();
        wait.until(ExpectedConditions.textToBe(By.id("node-name"), "node test"));
        driver.findElement(By.id("logout")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login")));
        driver.navigate().refresh();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login")));
        assertTrue(!driver.findElement(By.id("console")).isDisplayed());
      } finally {
        driver.quit();
      }
    } finally {
      deleteTree(profile);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static void logIn(WebDriver driver, String cookie) {
    WebElement field = driver.findElement(By.id("cookie"));
    field.clear();
    field.sendKeys(cookie);
    driver.findElement(By.cssSelector("#login-form button[type=submit]")).click();
  }

  /** Headless Chromium with a fresh profile; nothing is downloaded (the driver path is given). */
  private static WebDriver chromium(Path profile) {
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1100,1250", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }
}
