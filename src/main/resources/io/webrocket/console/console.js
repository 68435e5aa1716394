// WebRocket web console: a thin page over the admin REST API (WARI) and /console/api/*.
// The admin cookie is kept in sessionStorage and sent as X-WebRocket-Cookie on every call.
"use strict";

(() => {
  const COOKIE_KEY = "webrocket.cookie";
  // Every three seconds; `?refreshMs=N` (250 at least) for another pace: the browser test's
  // waits for a change are a refresh or two.
  const REFRESH_MS = Math.max(250, Number(new URLSearchParams(location.search).get("refreshMs")) || 3000);
  const SAMPLES = 40; // points per chart
  const $ = (id) => document.getElementById(id);

  const state = {
    cookie: null,
    selected: null,        // path of the vhost shown in detail
    revealed: new Set(),   // vhost paths whose token is shown
    timer: null,
    last: null,            // previous stats sample, for rates
    series: { connections: [], broadcasts: [], delivered: [], dropped: [] },
    rendered: {},          // table id -> key of what it shows, to re-render only on change
  };

  // ---- HTTP ----

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** One admin call; resolves to the JSON body, or null for a redirect (a create) or no body. */
  async function api(method, path) {
    const res = await fetch(path, {
      method,
      headers: { "X-WebRocket-Cookie": state.cookie },
      redirect: "manual", // WARI answers creates with 302: that is the success
      cache: "no-store",
    });
    if (res.type === "opaqueredirect") return null;
    if (res.status === 403) throw new HttpError(403, "Wrong cookie.");
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (!res.ok) throw new HttpError(res.status, (body && body.error) || `HTTP ${res.status}`);
    return body;
  }

  // ---- messages ----

  function say(text, isError = false) {
    const m = $("message");
    m.textContent = text;
    m.classList.toggle("error", isError);
    m.hidden = !text;
  }

  /** Runs an action; a 403 logs out, any other failure is shown. */
  async function attempt(action, done) {
    try {
      await action();
      if (done) say(done);
      await refreshTables();
    } catch (e) {
      failed(e);
    }
  }

  function failed(e) {
    if (e.status === 403) {
      logout("Wrong cookie: log in again.");
    } else {
      say(e.message || String(e), true);
    }
  }

  // ---- log in / out ----

  async function login(cookie) {
    state.cookie = cookie;
    try {
      const info = await api("GET", "/console/api/node");
      sessionStorage.setItem(COOKIE_KEY, cookie);
      $("node-name").textContent = `node ${info.node}`;
      fillList($("members"), info.members, null);
      $("login").hidden = true;
      $("console").hidden = false;
      $("logout").hidden = false;
      say("");
      await tick();
    } catch (e) {
      logout(e.status === 403 ? "Wrong cookie." : `Cannot reach the node: ${e.message}`);
    }
  }

  function logout(message) {
    clearTimeout(state.timer);
    sessionStorage.removeItem(COOKIE_KEY);
    Object.assign(state, { cookie: null, selected: null, last: null, rendered: {} });
    state.revealed.clear();
    for (const s of Object.values(state.series)) s.length = 0;
    $("console").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("node-name").textContent = "";
    $("cookie").value = "";
    say(message || "", Boolean(message));
    $("cookie").focus();
  }

  // ---- refresh ----

  /** The periodic tick: a stats sample and the tables, then the next tick. */
  async function tick() {
    if (!state.cookie) return;
    try {
      await Promise.all([refreshStats(), refreshTables()]);
    } catch (e) {
      failed(e);
    }
    if (state.cookie) {
      clearTimeout(state.timer); // at most one tick pending, however the ticks overlapped
      state.timer = setTimeout(tick, REFRESH_MS);
    }
  }

  async function refreshStats() {
    const s = await api("GET", "/console/api/stats");
    push("connections", s.connections);
    const p = state.last;
    if (p && s.time > p.time) {
      const secs = (s.time - p.time) / 1000;
      // Counters only grow; a smaller value means the node restarted: count from zero.
      const rate = (k) => Math.max(0, s[k] - p[k]) / secs;
      push("broadcasts", rate("broadcasts"));
      push("delivered", rate("delivered"));
      push("dropped", rate("dropped"));
    }
    state.last = s;
    $("totals").textContent = `Totals on this node: subscriptions ${s.subscriptions}, channels ${s.channels}, `
      + `workers ${s.workers}, broadcasts ${s.broadcasts}, deliveries ${s.delivered}, drops ${s.dropped}.`;
    for (const fig of document.querySelectorAll(".chart")) drawChart(fig, state.series[fig.dataset.series]);
  }

  function push(series, value) {
    const s = state.series[series];
    s.push(value);
    if (s.length > SAMPLES) s.shift();
  }

  async function refreshTables() {
    const { vhosts } = await api("GET", "/");
    vhosts.sort((a, b) => a.path.localeCompare(b.path));
    if (state.selected && !vhosts.some((v) => v.path === state.selected)) state.selected = null;
    renderVhosts(vhosts);
    await refreshSelected();
  }

  async function refreshSelected() {
    const path = state.selected;
    $("vhost").hidden = !path;
    if (!path) return;
    $("vhost-name").textContent = path;
    const [{ channels }, { workers }, rules] = await Promise.all([
      api("GET", `${path}/channels`),
      api("GET", `${path}/workers`),
      // Extension: the vhost's history rules in force (from the file, or set through WARI).
      api("GET", `${path}/history`).catch(() => null),
    ]);
    $("history-rules").textContent = rulesOf(rules && rules.history);
    const details = await Promise.all(channels.map((c) =>
      Promise.all([
        api("GET", `${path}/channels/${encodeURIComponent(c.name)}`),
        // Extension: the channel's history settings and current offset (400: it keeps none).
        api("GET", `${path}/channels/${encodeURIComponent(c.name)}/history?limit=0`).catch((e) => {
          if (e.status === 400 || e.status === 404) return null;
          throw e;
        }),
      ])
        .then(([r, h]) => ({ ...r.channel, history: h && h.history }))
        .catch((e) => {
          if (e.status === 404) return null; // closed meanwhile
          throw e;
        })));
    if (path !== state.selected) return; // another vhost was picked meanwhile
    renderChannels(path, details.filter(Boolean).sort((a, b) => a.name.localeCompare(b.name)));
    fillList($("workers"), workers.map((w) => w.id), "no-workers");
  }

  // ---- rendering ----

  /** Replaces a table body's rows, unless it already shows the same thing. */
  function renderRows(tbodyId, emptyId, key, items, row) {
    if (state.rendered[tbodyId] === key) return;
    state.rendered[tbodyId] = key;
    $(tbodyId).replaceChildren(...items.map(row));
    $(emptyId).hidden = items.length > 0;
  }

  function renderVhosts(vhosts) {
    const key = JSON.stringify([vhosts, state.selected, [...state.revealed]]);
    renderRows("vhost-rows", "no-vhosts", key, vhosts, (v) => {
      const shown = state.revealed.has(v.path);
      const tr = el("tr", { "data-vhost": v.path, class: v.path === state.selected ? "selected" : "" },
        el("td", {}, button(v.path, "link", () => select(v.path))),
        el("td", { class: "token" },
          el("code", {}, shown ? v.accessToken : "••••••••••••"), " ",
          button(shown ? "Hide" : "Show", "reveal", () => toggleToken(v.path))),
        el("td", { class: "actions" },
          button("Regenerate token", "regenerate", () => regenerate(v.path)),
          button("Delete", "danger delete", () => deleteVhost(v.path))));
      return tr;
    });
  }

  function renderChannels(path, channels) {
    const key = JSON.stringify([path, channels.map((c) => [c.name, c.subscribers.size, c.history])]);
    renderRows("channel-rows", "no-channels", key, channels, (c) =>
      el("tr", { "data-channel": c.name },
        el("td", {}, el("code", {}, c.name)),
        el("td", {}, typeOf(c.name)),
        el("td", { class: "subscribers" }, String(c.subscribers.size)),
        el("td", { class: "history" }, historyOf(c.history)),
        el("td", { class: "actions" }, button("Close", "danger delete", () => deleteChannel(path, c.name)))));
  }

  /** "History rules (file): chat* size 1000, 300 s; news size 10, 60 s", or none. */
  function rulesOf(h) {
    if (!h) return "";
    const rules = Object.entries(h.rules).map(([p, r]) => `${p} size ${r.size}, ${Math.round(r.lifetimeMs / 1000)} s`);
    return `History rules (${h.source}): ${rules.length ? rules.join("; ") : "none"}`;
  }

  /** "size 1000, 300 s · offset 42" for a channel with history, else a dash. */
  function historyOf(h) {
    if (!h) return "—";
    return `size ${h.settings.size}, ${Math.round(h.settings.lifetimeMs / 1000)} s · offset ${h.offset}`;
  }

  function typeOf(channel) {
    if (channel.startsWith("presence-")) return "presence";
    if (channel.startsWith("private-")) return "private";
    return "open";
  }

  function fillList(ul, names, emptyId) {
    ul.replaceChildren(...names.map((n) => el("li", {}, n)));
    if (emptyId) $(emptyId).hidden = names.length > 0;
  }

  function drawChart(fig, values) {
    const last = values.length ? values[values.length - 1] : null;
    fig.querySelector(".value").textContent = last === null ? "–" : format(last);
    const max = Math.max(1, ...values);
    const step = 120 / (SAMPLES - 1);
    const offset = SAMPLES - values.length; // newest sample at the right edge
    const points = values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(35 - (v / max) * 33).toFixed(1)}`);
    fig.querySelector("polyline").setAttribute("points", points.join(" "));
  }

  function format(n) {
    return n >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) if (v) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }

  function button(text, cls, onClick) {
    const b = el("button", { type: "button", class: cls }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  // ---- actions ----

  function select(path) {
    state.selected = path;
    state.rendered = {};
    attempt(async () => {});
  }

  function toggleToken(path) {
    if (!state.revealed.delete(path)) state.revealed.add(path);
    attempt(async () => {});
  }

  function normalizeVhost(input) {
    const p = input.trim();
    return p.startsWith("/") ? p : `/${p}`;
  }

  function createVhost(path) {
    attempt(async () => {
      await api("POST", path);
      state.selected = path;
      $("vhost-path").value = "";
    }, `Vhost ${path} created.`);
  }

  function deleteVhost(path) {
    if (!confirm(`Delete vhost ${path}? Its sockets are closed and its workers told to quit.`)) return;
    attempt(() => api("DELETE", path), `Vhost ${path} deleted.`);
  }

  function regenerate(path) {
    if (!confirm(`Regenerate the access token of ${path}? The old token stops working at once.`)) return;
    attempt(() => api("PUT", `${path}/token`), `New access token for ${path}.`);
  }

  function openChannel(path, name) {
    attempt(async () => {
      await api("POST", `${path}/channels/${encodeURIComponent(name)}`);
      $("channel-name").value = "";
    }, `Channel ${name} opened on ${path}.`);
  }

  function deleteChannel(path, name) {
    if (!confirm(`Close channel ${name} on ${path}?`)) return;
    attempt(() => api("DELETE", `${path}/channels/${encodeURIComponent(name)}`), `Channel ${name} closed.`);
  }

  // ---- wiring ----

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    login($("cookie").value.trim());
  });
  $("logout").addEventListener("click", () => logout());
  $("vhost-form").addEventListener("submit", (e) => {
    e.preventDefault();
    createVhost(normalizeVhost($("vhost-path").value));
  });
  $("channel-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.selected) openChannel(state.selected, $("channel-name").value.trim());
  });

  const saved = sessionStorage.getItem(COOKIE_KEY);
  if (saved) {
    login(saved);
  } else {
    logout();
  }
})();
