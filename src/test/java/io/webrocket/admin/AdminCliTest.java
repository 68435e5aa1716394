package io.webrocket.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.webrocket.test.AdminClient;
import io.webrocket.test.TestNode;
import io.webrocket.test.WbpClient;
import io.webrocket.test.WsClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin command-line tool ({@code AdminCli.run}) in-process against a real node: every
 * command of WARI.md, with the 2012 output formats, both with {@code -admin-addr}/{@code
 * -cookie} and with the cookie read from the data directory.
 */
class AdminCliTest {
  private static final String HEX40 = "[0-9a-f]{40}";
  private static TestNode node;
  private static AdminClient admin;

  @BeforeAll
  static void startNode() {
    node = TestNode.start();
    admin = node.admin();
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  /** What one run printed and returned. */
  record Run(int status, String out, String err) {
    /** stderr without terminal colour codes. */
    String plainErr() {
      return err.replaceAll("\u001b\\[[0-9;]*m", "");
    }

    Run ok() {
      assertEquals(0, status, "exit status; stderr: " + err + " stdout: " + out);
      assertEquals("", err);
      return this;
    }

    /** A failure: exit 1, nothing on stdout, one {@code ERR: ...} line on stderr; returns the message. */
    String failed() {
      assertEquals(1, status, "exit status; stdout: " + out + " stderr: " + err);
      assertEquals("", out);
      String e = plainErr();
      assertTrue(e.startsWith("ERR: ") && e.endsWith("\n") && e.indexOf('\n') == e.length() - 1, "stderr: " + e);
      return e.substring(5).trim();
    }
  }

  private static Run run(List<String> options, String... command) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> args = new ArrayList<>(options);
    args.addAll(List.of(command));
    int status;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
         PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = AdminCli.run(args.toArray(String[]::new), o, e);
    }
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Address and cookie given on the command line. */
  private static List<String> remote() {
    return List.of("-admin-addr", "127.0.0.1:" + node.adminPort, "-cookie", node.cookie());
  }

  /** Address given, cookie read from the data directory (STORAGE_DIR/NODE_NAME.cookie). */
  private static List<String> local() {
    return List.of("--admin-addr=127.0.0.1:" + node.adminPort, "--storage-dir", node.dataDir.toString(), "-node-name=test");
  }

  private static Run cli(String... command) {
    return run(remote(), command);
  }

  private static String unique(String prefix) {
    return "/" + prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  // ---------------------------------------------------------------- vhosts

  @Test
  void listVhostsPrintsOnePathPerLineSorted() {
    assertEquals(202, admin.call("DELETE", "/").statusCode());
    assertEquals("", cli("list_vhosts").ok().out());
    for (String v : List.of("/zeta", "/alpha", "/Mid", "/beta_2")) {
      admin.createVhost(v);
    }
    assertEquals("/Mid\n/alpha\n/beta_2\n/zeta\n", cli("list_vhosts").ok().out());
    assertEquals("/Mid\n/alpha\n/beta_2\n/zeta\n", run(local(), "list_vhosts").ok().out());
  }

  @Test
  void addVhostPrintsPathAndToken() {
    String v = unique("add");
    Run r = cli("add_vhost", v).ok();
    String[] lines = r.out().split("\n", -1);
    assertEquals(3, lines.length, r.out());
    assertEquals(v, lines[0]);
    assertTrue(lines[1].matches(HEX40), lines[1]);
    assertEquals("", lines[2]);
    assertEquals(lines[1], admin.token(v));
    // The path may be given without its slash.
    String w = unique("add");
    Run r2 = run(local(), "add_vhost", w.substring(1)).ok();
    assertEquals(w + "\n" + admin.token(w) + "\n", r2.out());
  }

  @Test
  void addVhostThatExistsOrIsInvalidFails() {
    String v = unique("dup");
    String token = admin.createVhost(v);
    assertTrue(cli("add_vhost", v).failed().contains("exists"));
    assertEquals(token, admin.token(v));
    cli("add_vhost", "/bad.name").failed();
    cli("add_vhost", "/a/b").failed();
  }

  @Test
  void showVhostPrintsPathAndToken() {
    String v = unique("show");
    String token = admin.createVhost(v);
    assertEquals(v + "\n" + token + "\n", cli("show_vhost", v).ok().out());
    assertEquals(v + "\n" + token + "\n", run(local(), "show_vhost", v.substring(1)).ok().out());
    assertTrue(cli("show_vhost", unique("missing")).failed().contains("doesn't exist"));
  }

  @Test
  void deleteVhostDeletesIt() {
    String v = unique("del");
    admin.createVhost(v);
    assertEquals("", cli("delete_vhost", v).ok().out());
    assertEquals(404, admin.call("GET", v).statusCode());
    assertTrue(cli("delete_vhost", v).failed().contains("doesn't exist"));
    String w = unique("del");
    admin.createVhost(w);
    run(local(), "delete_vhost", w).ok();
    assertEquals(404, admin.call("GET", w).statusCode());
  }

  @Test
  void clearVhostsDeletesEveryVhost() {
    admin.createVhost(unique("clear"));
    admin.createVhost(unique("clear"));
    assertEquals("", cli("clear_vhosts").ok().out());
    assertEquals(new JsonArray(), admin.json("/").getJsonArray("vhosts"));
    admin.createVhost(unique("clear"));
    run(local(), "clear_vhosts").ok();
    assertEquals(new JsonArray(), admin.json("/").getJsonArray("vhosts"));
  }

  @Test
  void regenerateVhostTokenPrintsTheNewToken() {
    String v = unique("regen");
    String old = admin.createVhost(v);
    String printed = cli("regenerate_vhost_token", v).ok().out();
    assertTrue(printed.matches(HEX40 + "\n"), printed);
    String fresh = printed.trim();
    assertNotEquals(old, fresh);
    assertEquals(fresh, admin.token(v));
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("ER", "402"), c.request(WbpClient.identity("req", v, old), "OC", "chat"));
    }
    String again = run(local(), "regenerate_vhost_token", v).ok().out().trim();
    assertNotEquals(fresh, again);
    assertEquals(again, admin.token(v));
    assertTrue(cli("regenerate_vhost_token", unique("missing")).failed().contains("doesn't exist"));
  }

  // -------------------------------------------------------------- channels

  @Test
  void listChannelsPrintsNamesWithSubscriberCounts() {
    String v = unique("chans");
    admin.createVhost(v);
    assertEquals("", cli("list_channels", v).ok().out());
    for (String c : List.of("zoo", "chat", "presence-room")) {
      admin.openChannel(v, c);
    }
    try (WsClient b1 = node.ws(v); WsClient b2 = node.ws(v)) {
      b1.subscribe("chat");
      b2.subscribe("chat");
      b1.subscribe("zoo");
      String expected = "chat\t(2 subscribers)\npresence-room\t(0 subscribers)\nzoo\t(1 subscribers)\n";
      assertEquals(expected, cli("list_channels", v).ok().out());
      assertEquals(expected, run(local(), "list_channels", v.substring(1)).ok().out());
    }
    assertTrue(cli("list_channels", unique("missing")).failed().contains("doesn't exist"));
  }

  @Test
  void addChannelOpensIt() {
    String v = unique("addch");
    String token = admin.createVhost(v);
    assertEquals("", cli("add_channel", v, "chat").ok().out());
    run(local(), "add_channel", v, "private-x").ok();
    assertEquals("chat", admin.json(v + "/channels/chat").getJsonObject("channel").getString("name"));
    assertEquals("private-x", admin.json(v + "/channels/private-x").getJsonObject("channel").getString("name"));
    try (WbpClient c = node.wbp()) {
      assertEquals(List.of("OK", ""), c.request(WbpClient.identity("req", v, token), "BC", "chat", "e", "{}"));
    }
    assertTrue(cli("add_channel", v, "chat").failed().contains("exists"));
    assertTrue(cli("add_channel", v, ".bad").failed().contains("invalid"));
    assertTrue(cli("add_channel", unique("missing"), "chat").failed().contains("doesn't exist"));
  }

  @Test
  void deleteChannelClosesIt() {
    String v = unique("delch");
    admin.createVhost(v);
    admin.openChannel(v, "a");
    admin.openChannel(v, "b");
    assertEquals("", cli("delete_channel", v, "a").ok().out());
    assertEquals(404, admin.call("GET", v + "/channels/a").statusCode());
    run(local(), "delete_channel", v, "b").ok();
    assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
    assertTrue(cli("delete_channel", v, "a").failed().contains("doesn't exist"));
  }

  @Test
  void clearChannelsClosesEveryChannel() {
    String v = unique("clearch");
    admin.createVhost(v);
    admin.openChannel(v, "a");
    admin.openChannel(v, "b");
    assertEquals("", cli("clear_channels", v).ok().out());
    assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
    admin.openChannel(v, "c");
    run(local(), "clear_channels", v).ok();
    assertEquals(new JsonArray(), admin.json(v + "/channels").getJsonArray("channels"));
    assertTrue(cli("clear_channels", unique("missing")).failed().contains("doesn't exist"));
  }

  // --------------------------------------------------------------- workers

  @Test
  void listWorkersPrintsWorkerIds() {
    String v = unique("workers");
    String token = admin.createVhost(v);
    assertEquals("", cli("list_workers", v).ok().out());
    List<String> ids = new ArrayList<>(List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString()));
    List<WbpClient> workers = new ArrayList<>();
    try {
      for (String id : ids) {
        WbpClient w = node.wbp();
        workers.add(w);
        w.write(WbpClient.message("dlr:" + v + ":" + token + ":" + id, "RD"));
        assertEquals("HB", w.read().get(0));
      }
      ids.sort(null);
      assertEquals(ids.get(0) + "\n" + ids.get(1) + "\n", cli("list_workers", v).ok().out());
      assertEquals(ids.get(0) + "\n" + ids.get(1) + "\n", run(local(), "list_workers", v).ok().out());
    } finally {
      workers.forEach(WbpClient::close);
    }
    assertTrue(cli("list_workers", unique("missing")).failed().contains("doesn't exist"));
  }

  // ------------------------------------------------------ options and errors

  @Test
  void cookieIsFoundInTheStorageDirWithoutNodeName() {
    // The only *.cookie file of the data directory is used when no node name is given.
    String v = unique("found");
    String token = admin.createVhost(v);
    Run r = run(List.of("-admin-addr", "127.0.0.1:" + node.adminPort, "-storage-dir=" + node.dataDir), "show_vhost", v).ok();
    assertEquals(v + "\n" + token + "\n", r.out());
  }

  @Test
  void optionSpellingsAreAllAccepted() {
    String v = unique("spell");
    String token = admin.createVhost(v);
    String addr = "127.0.0.1:" + node.adminPort;
    for (List<String> opts : List.of(
        List.of("-admin-addr", addr, "-cookie", node.cookie()),
        List.of("--admin-addr", addr, "--cookie", node.cookie()),
        List.of("-admin-addr=" + addr, "-cookie=" + node.cookie()),
        List.of("--admin-addr=" + addr, "--cookie=" + node.cookie()),
        List.of("-admin-addr", ":" + node.adminPort, "-cookie", node.cookie()))) {
      assertEquals(v + "\n" + token + "\n", run(opts, "show_vhost", v).ok().out(), opts.toString());
    }
    // Options may also follow the command.
    assertEquals(v + "\n" + token + "\n", run(List.of(), "show_vhost", v, "-admin-addr", addr, "-cookie", node.cookie()).ok().out());
  }

  @Test
  void wrongCookieFails() {
    Run r = run(List.of("-admin-addr", "127.0.0.1:" + node.adminPort, "-cookie", "0".repeat(40)), "list_vhosts");
    assertTrue(r.failed().toLowerCase().contains("cookie"), r.err());
  }

  @Test
  void missingCookieFileFails() throws Exception {
    Path empty = Files.createTempDirectory("webrocket-nocookie");
    Run r = run(List.of("-admin-addr", "127.0.0.1:" + node.adminPort, "-storage-dir", empty.toString(), "-node-name", "nobody"),
        "list_vhosts");
    assertTrue(r.failed().contains("cookie"), r.err());
  }

  @Test
  void unreachableNodeFails() {
    Run r = run(List.of("-admin-addr", "127.0.0.1:" + TestNode.freePort(), "-cookie", node.cookie()), "list_vhosts");
    assertTrue(r.failed().contains("is server running"), r.err());
  }

  @Test
  void unknownCommandAndWrongArgumentCountFail() {
    assertTrue(cli("frobnicate").failed().contains("unknown command"));
    cli("add_vhost").failed();
    cli("add_vhost", "/a", "/b").failed();
    cli("list_vhosts", "extra").failed();
    cli("add_channel", "/v").failed();
    cli("delete_channel", "/v").failed();
    cli("list_channels").failed();
    Run noCommand = run(remote());
    assertEquals(1, noCommand.status());
    assertEquals("", noCommand.out());
    assertTrue(noCommand.err().contains("list_vhosts"), "usage on stderr: " + noCommand.err());
    Run missingValue = run(List.of(), "list_vhosts", "-admin-addr");
    assertTrue(missingValue.failed().contains("admin-addr"));
  }

  @Test
  void helpListsEveryCommand() {
    Run r = run(List.of("-help"));
    assertEquals(0, r.status());
    for (String c : List.of("list_vhosts", "add_vhost", "show_vhost", "delete_vhost", "clear_vhosts", "regenerate_vhost_token",
        "list_channels", "add_channel", "delete_channel", "clear_channels", "list_workers", "-admin-addr", "-cookie")) {
      assertTrue(r.err().contains(c) || r.out().contains(c), c);
    }
  }

  @Test
  void adminApiSeesWhatTheToolDid() {
    // Round trip: every change the tool makes is visible through WARI.
    String v = unique("roundtrip");
    String token = cli("add_vhost", v).ok().out().split("\n")[1];
    cli("add_channel", v, "chat").ok();
    JsonObject shown = admin.json(v).getJsonObject("vhost");
    assertEquals(token, shown.getString("accessToken"));
    assertEquals(1, shown.getJsonObject("channels").getInteger("size"));
  }
}
