/*! webrocket.js: the WebRocket browser client (WWFP over WebSocket). No dependencies. MIT license. */
// A classic script (global WebRocket), a CommonJS module (module.exports), and, served as
// /webrocket.mjs, an ES module (default export): the broker appends the export line.
var WebRocket = (function () {
  'use strict';

  // ---- errors ----

  class WebRocketError extends Error {
    // code and status are WWFP's (402 "Unauthorized"...); code 0 marks an error of the client itself.
    constructor(code, status, message, details) {
      super(message || code + ' ' + status);
      this.name = 'WebRocketError';
      this.code = code;
      this.status = status;
      Object.assign(this, details);
    }
  }

  // A throwing handler must not break the connection nor the other handlers: report it and go on.
  function report(e) {
    if (typeof reportError == 'function') reportError(e);
    else console.error(e);
  }

  // A promise nobody has to await: a rejection nobody handles is not "unhandled" (Node would exit).
  function deferred() {
    var d = {};
    d.promise = new Promise(function (resolve, reject) { d.resolve = resolve; d.reject = reject; });
    d.promise.catch(function () {});
    return d;
  }

  // ---- events (the 2012 names bind/unbind/trigger, and on/off) ----

  class Events {
    constructor() { this.callbacks = {}; }
    bind(event, fn) {
      (this.callbacks[event] || (this.callbacks[event] = [])).push(fn);
      return fn;
    }
    unbind(event, fn) {
      if (!fn) delete this.callbacks[event];
      else if (this.callbacks[event]) this.callbacks[event] = this.callbacks[event].filter(function (f) { return f !== fn; });
    }
    // True if a handler was bound.
    trigger(event, data) {
      var list = this.callbacks[event];
      if (!list || !list.length) return false;
      list.slice().forEach(function (fn) {
        try { fn.call({}, data); } catch (e) { report(e); }
      });
      return true;
    }
  }

  // Array-like lists with the 2012 helpers; find/get take a name (or uid), find also a predicate.
  function listOf(key) {
    return class extends Array {
      static get [Symbol.species]() { return Array; }
      each(fn) { for (var i = 0; i < this.length; i++) fn(this[i], i); }
      get(id) { for (var i = 0; i < this.length; i++) if (this[i][key] === id) return this[i]; return null; }
      find(id) { return typeof id == 'function' ? super.find.apply(this, arguments) : this.get(id); }
      del(id) {
        for (var i = 0; i < this.length; i++) if (this[i][key] === id) return this.splice(i, 1)[0];
        return null;
      }
    };
  }
  var Channels = listOf('name');
  var Subscribers = listOf('uid');

  // A presence member: its uid and the data it subscribed with.
  function member(payload) {
    var data = {};
    for (var k in payload) if (k !== 'uid' && k !== 'channel') data[k] = payload[k];
    return { uid: payload.uid, data: data };
  }
  function memberKey(m) { return m.uid + '\u0000' + JSON.stringify(m.data); }
  function replace(list, items) { list.length = 0; items.forEach(function (m) { list.push(m); }); }

  // The :error codes each request can get (WWFP.md); anything else is not its reply.
  var ERRORS = {
    auth: [400, 402, 429, 597],
    subscribe: [400, 403, 429, 451, 454, 597],
    unsubscribe: [400, 429, 451, 453, 454, 597]
  };
  var CHANNEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

  // ---- a channel ----

  class Channel {
    constructor(client, name) {
      this.connection = client;
      this.name = name;
      this.type = /^presence-/.test(name) ? 'presence' : /^private-/.test(name) ? 'private' : 'normal';
      this.state = 'unsubscribed';
      this.events = new Events();
      if (this.type == 'presence') this.subscribers = new Subscribers();
      this.data = undefined;
      this.hidden = false;
      this._ready = deferred();
      this.ready = this._ready.promise;
    }

    // Subscribes (again, after unsubscribe); data and hidden are for presence channels.
    subscribe(data, hidden) {
      if (this.state == 'subscribed' || this.state == 'subscribing') return this.ready;
      if (this._settled) {
        this._settled = false;
        this._ready = deferred();
        this.ready = this._ready.promise;
      }
      var leaving = this.state == 'unsubscribing'; // then :unsubscribed sends it
      this.data = data;
      this.hidden = !!hidden;
      this.state = 'subscribing';
      if (!leaving) this.connection._subscribe(this);
      return this.ready;
    }

    // Leaves the channel; data is merged into this member's data for the others' :memberLeft.
    unsubscribe(data) {
      var c = this.connection;
      if (this.state == 'unsubscribed') return Promise.resolve(this);
      var wasSent = this._sent;
      this.state = 'unsubscribing';
      this._settle(new WebRocketError(0, 'Unsubscribed', 'unsubscribed before the subscription completed'));
      if (!wasSent || !c._online()) return Promise.resolve(this._gone());
      var body = { channel: this.name };
      if (data !== undefined) body.data = data;
      return c._request('unsubscribe', { unsubscribe: body }, this);
    }

    // Broadcasts event to every subscriber (this one too); trigger also sends data to a backend worker.
    broadcast(event, data, trigger) {
      var body = { channel: this.name, event: event, data: data === undefined ? {} : data };
      if (trigger) body.trigger = trigger;
      var c = this.connection;
      var bad = typeof event != 'string' || !event || event[0] == ':' ? 400
        : data !== undefined && (typeof data != 'object' || data === null || Array.isArray(data)) ? 400
        : trigger && !c.authenticated && !c._auth ? 403
        : this.state == 'unsubscribed' || this.state == 'unsubscribing' ? 453 : 0;
      if (bad) return c._fail(new WebRocketError(bad, c._statusText(bad), 'broadcast ' + event + ' on ' + this.name + ' refused here', { event: event, channel: this.name }), this);
      return c._fireAndForget({ broadcast: body }, this, event, !!trigger) !== false;
    }

    bind(event, fn) { return this.events.bind(event, fn); }
    unbind(event, fn) { return this.events.unbind(event, fn); }
    on(event, fn) { return this.events.bind(event, fn); }
    off(event, fn) { return this.events.unbind(event, fn); }
    // Runs this channel's local handlers for event (the 2012 meaning; nothing is sent).
    trigger(event, data) { return this.events.trigger(event, data); }

    _settle(err, value) {
      if (this._settled) return;
      this._settled = true;
      if (err) this._ready.reject(err); else this._ready.resolve(value);
    }

    _gone() {
      this.state = 'unsubscribed';
      this._sent = false;
      if (this.subscribers) this.subscribers.length = 0;
      return this;
    }
  }

  // ---- the client ----

  var DEFAULTS = {
    reconnect: true,          // reconnect after an unexpected close
    reconnectDelay: 1000,     // first backoff step (ms); doubles each attempt
    maxReconnectDelay: 30000, // backoff ceiling (ms)
    maxRetries: Infinity,     // attempts in a row before giving up (state "closed")
    maxQueue: 1000,           // broadcasts/triggers kept while offline
    authURL: '/webrocket/auth.json' // for authenticate(params) in the 2012 yodachat style
  };

  var STATUS = { 400: 'Bad request', 402: 'Unauthorized', 403: 'Forbidden', 429: 'Too many requests', 451: 'Invalid channel name', 453: 'Not subscribed', 454: 'Channel not found', 503: 'Service unavailable', 597: 'Internal error' };

  class WebRocket {
    constructor(url, options) {
      this.url = url;
      this.options = Object.assign({}, DEFAULTS, options);
      // The 2012 library split this object into WebRocket and its Connection; both names reach it.
      this.connection = this;
      this.events = new Events();
      this.channels = new Channels();
      this.state = 'connecting';
      this.sid = null;
      this.uid = null;
      this.authenticated = false;
      this.socket = null;
      this.attempts = 0;       // failed connection attempts in a row
      this._pending = [];      // requests sent on this socket, waiting for their reply (in order)
      this._triggers = [];     // triggers sent lately: a 503 comes back late, if at all
      this._queue = [];        // broadcasts/triggers waiting for the connection
      this._auth = null;       // how to get a token: function returning a token (or {token})
      this._authWaiters = [];
      this._everConnected = false;
      this.connect();
    }

    // ---- connection ----

    // Opens the connection unless it is open or opening (the constructor already calls it).
    connect() {
      if (this.socket && this.state != 'closed' && this.state != 'disconnected') return this;
      clearTimeout(this._timer);
      var WS = this.options.WebSocket || (typeof WebSocket != 'undefined' ? WebSocket : null);
      var self = this;
      this.state = 'connecting';
      var socket;
      try {
        if (!WS) throw new Error('no WebSocket implementation: use Node >= 22 or pass options.WebSocket');
        socket = new WS(this.url);
      } catch (e) {
        this.state = 'closed';
        this._fail(new WebRocketError(0, 'Cannot connect', e.message, { cause: e }));
        return this;
      }
      this.socket = socket;
      socket.onmessage = function (e) { if (self.socket === socket) self._message(e.data); };
      socket.onclose = function (e) { if (self.socket === socket) self._dropped(e.code, e.reason); };
      socket.onerror = function () {}; // a close event follows and says it all
      return this;
    }

    // Reconnects now (e.g. from a "reconnect" button), without waiting for the backoff.
    reconnect() {
      this.attempts = 0;
      if (this.socket && (this.state == 'connected' || this.state == 'connecting')) {
        var old = this.socket;
        this.socket = null;
        old.onclose = null;
        try { old.close(); } catch (e) { /* closing anyway */ }
        this._dropped(1000, 'reconnect', true);
      }
      this.state = 'disconnected';
      return this.connect();
    }

    // Ends the session: the server answers :closed and closes; there is no reconnect.
    close(data) {
      var self = this;
      clearTimeout(this._timer);
      if (this.state == 'closed') return Promise.resolve();
      var done = deferred();
      this._closeWaiter = done;
      if (this.state == 'connected') {
        this.state = 'closing';
        this._send({ close: data && typeof data == 'object' ? data : {} });
        // A server that does not answer :closed (nor closes) is not waited for long.
        var socket = this.socket;
        this._closeTimer = setTimeout(function () {
          if (self.socket === socket) { socket.onclose = null; try { socket.close(); } catch (e) { /* gone */ } self._finish({}); }
        }, 3000);
      } else {
        if (this.socket) { this.socket.onclose = null; try { this.socket.close(); } catch (e) { /* gone */ } }
        this._finish({});
      }
      return done.promise;
    }

    bind(event, fn) { return this.events.bind(event, fn); }
    unbind(event, fn) { return this.events.unbind(event, fn); }
    on(event, fn) { return this.events.bind(event, fn); }
    off(event, fn) { return this.events.unbind(event, fn); }

    // ---- requests ----

    // Authenticates with a token, or with a function returning one (or a promise of one), called
    // again after every reconnect (tokens are single use). wr.authenticate(channelName, token) (2012)
    // and wr.authenticate({params}) (2012 yodachat: GET options.authURL?params -> {"token": T}) work too.
    authenticate(source, token) {
      if (token !== undefined && typeof source == 'string') source = token;
      if (typeof source == 'string') {
        var used = false, t = source;
        source = function () {
          if (used) throw new WebRocketError(402, 'Unauthorized', 'the token was used already; pass a function to authenticate() to get a new one after a reconnect');
          used = true;
          return t;
        };
      } else if (source && typeof source == 'object') {
        var url = this.options.authURL, params = source;
        source = function () {
          var query = Object.keys(params).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
          return fetch(url + (url.indexOf('?') < 0 ? '?' : '&') + query).then(function (r) {
            if (!r.ok) throw new Error('GET ' + url + ': HTTP ' + r.status);
            return r.json();
          });
        };
      }
      if (typeof source != 'function') {
        var bad = deferred();
        bad.reject(new WebRocketError(400, 'Bad request', 'authenticate() needs a token or a function'));
        return bad.promise;
      }
      this._auth = source;
      var waiter = deferred();
      this._authWaiters.push(waiter);
      if (this.state == 'connected' && !this._authPending) this._runAuth(true);
      return waiter.promise;
    }

    // Subscribes to a channel (data and hidden: presence only) and returns it; await channel.ready.
    subscribe(name, data, hidden) {
      var channel = this.channels.get(name);
      if (!channel) {
        channel = new Channel(this, name);
        this.channels.push(channel);
      }
      channel.subscribe(data, hidden);
      return channel;
    }

    // Leaves a channel; resolves when the server confirms.
    unsubscribe(name, data) {
      var channel = this.channels.get(name);
      return channel ? channel.unsubscribe(data) : Promise.resolve(null);
    }

    broadcast(channelName, event, data, trigger) {
      var channel = this.channels.get(channelName);
      if (!channel) return this._fail(new WebRocketError(453, 'Not subscribed', 'not subscribed to ' + channelName, { channel: channelName, event: event }));
      return channel.broadcast(event, data, trigger);
    }

    // Sends event with data to one backend worker (needs authentication).
    trigger(event, data) {
      if (typeof event != 'string' || !event || (data !== undefined && (typeof data != 'object' || data === null || Array.isArray(data)))) {
        return this._fail(new WebRocketError(400, 'Bad request', 'trigger needs an event name and an object', { event: event }));
      }
      if (!this.authenticated && !this._auth) {
        return this._fail(new WebRocketError(403, 'Forbidden', 'trigger needs authentication', { event: event }));
      }
      return this._fireAndForget({ trigger: { event: event, data: data === undefined ? {} : data } }, null, event, true) !== false;
    }

    // Hook for channel history (a later broker feature): called for each channel re-subscribed
    // after a reconnect, with the time the connection was lost; it may fetch what was missed.
    recover(channel, since) {} // eslint-disable-line no-unused-vars

    // ---- internals ----

    _online() { return this.state == 'connected' && this.socket && this.socket.readyState === 1; }

    _statusText(code) { return STATUS[code] || 'Error'; }

    _send(message) {
      this.socket.send(JSON.stringify(message));
    }

    // Sends a request that has a reply; resolves with it.
    _request(kind, message, channel) {
      var d = deferred();
      this._pending.push({ kind: kind, channel: channel, d: d });
      this._send(message);
      return d.promise;
    }

    _subscribe(channel) {
      // Sent once the connection is up and authentication (if any) has been sent.
      if (!this._online() || this._authPending) return;
      if (!CHANNEL_NAME.test(channel.name)) {
        var err = new WebRocketError(451, 'Invalid channel name', 'invalid channel name: ' + channel.name, { channel: channel.name });
        channel._gone();
        channel._settle(err);
        this._fail(err, channel);
        return;
      }
      var body = { channel: channel.name };
      if (channel.data !== undefined) body.data = channel.data;
      if (channel.hidden) body.hidden = true;
      channel._sent = true;
      this._request('subscribe', { subscribe: body }, channel);
    }

    _fireAndForget(message, channel, event, isTrigger) {
      if (!this._online() || this._authPending) {
        if (this._queue.length >= this.options.maxQueue) {
          return this._fail(new WebRocketError(0, 'Queue full', 'offline and ' + this.options.maxQueue + ' messages queued already', { event: event }), channel);
        }
        this._queue.push([message, channel, event, isTrigger]);
        return;
      }
      var now = Date.now();
      this._pending.push({ kind: 'send', channel: channel, event: event, at: now });
      if (this._pending.length > 200) {
        // Sends with no reply since: long done. The list stays bounded however many are sent.
        this._pending = this._pending.filter(function (p) { return p.kind != 'send' || now - p.at < 10000; });
      }
      if (isTrigger) {
        this._triggers.push({ channel: channel, event: event, at: now });
        while (this._triggers.length && (this._triggers.length > 100 || now - this._triggers[0].at > 60000)) this._triggers.shift();
      }
      this._send(message);
    }

    // Delivers an error: to a channel's and the connection's :error handlers (or the console).
    // Returns false, for callers that return it.
    _fail(err, channel) {
      var heard = channel ? channel.events.trigger(':error', err) : false;
      if (!this.events.trigger(':error', err) && !heard && !err._quiet) console.warn('WebRocket:', err.message);
      return false;
    }

    // The request a reply is for: the oldest one of that kind (and channel); the broadcasts and
    // triggers sent before it had no error, since the server answers in order.
    _take(kind, channelName) {
      for (var i = 0; i < this._pending.length; i++) {
        var p = this._pending[i];
        if (p.kind == kind && (!channelName || (p.channel && p.channel.name == channelName))) {
          this._pending.splice(0, i + 1);
          return p;
        }
      }
      return null;
    }

    _message(text) {
      var message, event;
      try {
        message = JSON.parse(text);
        event = Object.keys(message)[0];
      } catch (e) {
        return this._fail(new WebRocketError(0, 'Bad message', 'not WWFP: ' + String(text).slice(0, 100)));
      }
      var data = message[event] || {};
      try {
        var handler = event[0] == ':' && this['_on_' + event.slice(1)];
        if (handler) handler.call(this, data);
        else this._userEvent(event, data);
      } catch (e) {
        report(e); // a bug of ours must not stop the next message
      }
    }

    _on_connected(data) {
      var reconnected = this._everConnected;
      this._everConnected = true;
      this.state = 'connected';
      this.sid = data.sid;
      this.attempts = 0;
      this.authenticated = false;
      this._pending = [];
      this._restoring = reconnected ? this.channels.filter(function (c) { return c.state == 'subscribing' || c.state == 'subscribed'; }).length : -1;
      // Authentication and subscriptions go first: a :connected handler may add requests (2012 pages do).
      if (this._auth) this._runAuth(false);
      else this._resume();
      this.events.trigger(':connected', data);
      if (this._restoring == 0) this._restored();
    }

    // Gets a token (the callback may be async) and sends auth; subscriptions and queued messages
    // wait for it to be sent, so that the server handles them after it.
    _runAuth(again) {
      var self = this, socket = this.socket;
      this._authPending = true;
      var got;
      try { got = Promise.resolve(this._auth()); } catch (e) { got = Promise.reject(e); }
      got.then(function (t) {
        if (self.socket !== socket || !self._online()) return;
        var token = t && typeof t == 'object' ? t.token : t;
        if (typeof token != 'string' || !token) throw new Error('the token callback gave no token');
        self._authPending = false;
        if (again && self.authenticated) {
          // Authenticating again drops every subscription on the server: subscribe them again.
          self.channels.forEach(function (c) { if (c._sent) { c._sent = false; c._stale = true; c.state = 'subscribing'; } });
        }
        self._request('auth', { auth: { token: token } });
        self._resume();
      }).catch(function (e) {
        if (self.socket !== socket) return;
        self._authPending = false;
        var err = e instanceof WebRocketError ? e : new WebRocketError(402, 'Unauthorized', 'token callback failed: ' + (e && e.message || e), { cause: e });
        self._authDone(err);
        self._fail(err);
        self._resume();
      });
    }

    _authDone(err, data) {
      var waiters = this._authWaiters;
      this._authWaiters = [];
      waiters.forEach(function (w) { if (err) w.reject(err); else w.resolve(data); });
    }

    // After :connected (and auth sent): subscribe every wanted channel, then send what was queued.
    _resume() {
      var self = this;
      this.channels.forEach(function (c) {
        if ((c.state == 'subscribing' || c.state == 'subscribed') && !c._sent) {
          c.state = 'subscribing';
          self._subscribe(c);
        }
      });
      var queued = this._queue;
      this._queue = [];
      queued.forEach(function (q) { self._fireAndForget(q[0], q[1], q[2], q[3]); });
    }

    _on_authenticated(data) {
      this._take('auth');
      this.authenticated = true;
      if (data.uid) this.uid = data.uid;
      this._authDone(null, data);
      this.events.trigger(':authenticated', data);
    }

    _on_subscribed(data) {
      this._take('subscribe', data.channel);
      var channel = this.channels.get(data.channel);
      if (!channel) return;
      if (data.uid) this.uid = data.uid;
      if (channel.state == 'unsubscribing' || channel.state == 'unsubscribed') return; // an unsubscribe follows
      channel.state = 'subscribed';
      if (channel.subscribers) {
        var fresh = (data.subscribers || []).map(member);
        if (channel._stale) {
          // Rebuilt after a reconnect: report who joined and who left meanwhile.
          var old = channel.subscribers.slice();
          var me = channel._self ? old.indexOf(channel._self) : -1;
          if (me >= 0) old.splice(me, 1);
          var count = {};
          fresh.forEach(function (m) { count[memberKey(m)] = (count[memberKey(m)] || 0) + 1; });
          var left = old.filter(function (m) { var k = memberKey(m); if (count[k]) { count[k]--; return false; } return true; });
          var joined = fresh.filter(function (m) { var k = memberKey(m); if (count[k]) { count[k]--; return true; } return false; });
          // The fresh list leaves out this connection; this member stays listed (it did not leave).
          replace(channel.subscribers, fresh);
          if (me >= 0) channel.subscribers.push(channel._self);
          left.forEach(function (m) { channel.events.trigger(':memberLeft', Object.assign({}, m.data, { uid: m.uid, channel: channel.name })); });
          joined.forEach(function (m) { channel.events.trigger(':memberJoined', Object.assign({}, m.data, { uid: m.uid, channel: channel.name })); });
          channel._rejoining = me >= 0;
        } else {
          replace(channel.subscribers, fresh);
          channel._rejoining = false;
        }
        if (!channel._rejoining) channel._self = null;
        channel._expectSelf = !channel.hidden;
        data = Object.assign({}, data, { subscribers: channel.subscribers });
      }
      var since = channel._lostAt;
      var wasStale = channel._stale;
      channel._stale = false;
      channel._lostAt = undefined;
      channel._settle(null, channel);
      channel.events.trigger(':subscribed', data);
      if (wasStale) {
        try { this.recover(channel, since); } catch (e) { report(e); }
      }
      if (this._restoring > 0 && --this._restoring == 0) this._restored();
    }

    _restored() {
      this._restoring = -1;
      this.events.trigger(':reconnected', { sid: this.sid });
    }

    _on_unsubscribed(data) {
      var p = this._take('unsubscribe', data.channel);
      var channel = this.channels.get(data.channel);
      if (!channel) return;
      var again = channel.state == 'subscribing'; // subscribe() was called again meanwhile
      if (!again) channel._gone();
      if (p) p.d.resolve(channel);
      channel.events.trigger(':unsubscribed', data);
      if (again) { channel._sent = false; this._subscribe(channel); }
    }

    _on_memberJoined(data) {
      var channel = this.channels.get(data.channel);
      if (!channel || !channel.subscribers) return;
      var m = member(data);
      // The joiner gets its own :memberJoined right after :subscribed.
      if (channel._expectSelf && data.uid === this.uid) {
        channel._expectSelf = false;
        if (channel._rejoining) {
          // Back after a reconnect: listed already, not a join.
          channel._rejoining = false;
          channel._self.data = m.data;
          return;
        }
        channel._self = m;
      }
      channel.subscribers.push(m);
      channel.events.trigger(':memberJoined', data);
    }

    _on_memberLeft(data) {
      var channel = this.channels.get(data.channel);
      if (!channel || !channel.subscribers) return;
      var gone = channel.subscribers.del(data.uid);
      if (gone === channel._self) channel._self = null;
      channel.events.trigger(':memberLeft', data);
    }

    _on_closed(data) {
      this._finish(data);
      if (this.socket) { this.socket.onclose = null; try { this.socket.close(); } catch (e) { /* gone */ } }
    }

    _on_error(data) {
      var code = data.code, p = null, i;
      var err = new WebRocketError(code, data.status || this._statusText(code));
      if (code == 503 && this._triggers.length) {
        // Triggers fail late (no worker in time): the oldest one still unanswered.
        p = this._triggers.shift();
        err.event = p.event;
        err.request = p.channel ? 'broadcast' : 'trigger';
        err.message = err.request + ' ' + p.event + ': 503 ' + err.status;
        if (p.channel) err.channel = p.channel.name;
        return this._fail(err, p.channel);
      }
      // The oldest request waiting for a reply, if this can be its error; else a broadcast or
      // trigger sent before it (WWFP's :error names no request: the server answers in order).
      for (i = 0; i < this._pending.length; i++) if (this._pending[i].kind != 'send') break;
      var head = this._pending[i];
      if (head && ERRORS[head.kind].indexOf(code) >= 0) {
        p = head;
        this._pending.splice(0, i + 1);
      } else if (this._pending.length && this._pending[0].kind == 'send') {
        p = this._pending.shift();
      }
      var channel = p && p.channel;
      if (channel) err.channel = channel.name;
      if (p && p.event) err.event = p.event;
      if (p) err.request = p.kind == 'send' ? (p.channel ? 'broadcast' : 'trigger') : p.kind;
      if (err.request) err.message = err.request + (err.channel ? ' ' + err.channel : err.event ? ' ' + err.event : '') + ': ' + code + ' ' + err.status;
      if (p && p.kind == 'auth') this._authDone(err);
      if (p && p.kind == 'subscribe') {
        channel._gone();
        channel._settle(err);
      }
      if (p && p.kind == 'unsubscribe' && channel.state == 'unsubscribing') channel.state = 'subscribed';
      if (p && p.d) p.d.reject(err);
      if (p && p.kind == 'subscribe' && this._restoring > 0 && --this._restoring == 0) this._restored();
      this._fail(err, channel);
    }

    _userEvent(event, data) {
      var channel = data.channel != null ? this.channels.get(data.channel) : null;
      if (data.sid === this.sid && channel) {
        // Our own broadcast came back: it and what was sent before it had no error.
        for (var i = 0; i < this._pending.length; i++) {
          var p = this._pending[i];
          if (p.kind != 'send') break;
          if (p.channel === channel && p.event === event) { this._pending.splice(0, i + 1); break; }
        }
      }
      if (channel) channel.events.trigger(event, data);
      else if (data.channel == null) this.events.trigger(event, data);
    }

    // The socket closed: report it and, unless the session was closed on purpose, reconnect.
    _dropped(code, reason, manual) {
      var self = this, now = Date.now();
      this.socket = null;
      this.authenticated = false;
      this._authPending = false;
      this._pending = [];
      this._triggers = [];
      if (this.state == 'closing' || this.state == 'closed') return this._finish({ code: code, reason: reason });
      var wasConnected = this.state == 'connected';
      this.channels.forEach(function (c) {
        if (c.state == 'unsubscribing') c._gone();
        if (c._sent) {
          c._sent = false;
          c._stale = true;
          if (c._lostAt === undefined) c._lostAt = now;
          c.state = 'subscribing';
        }
      });
      this.attempts += manual ? 0 : 1;
      var retry = manual || (this.options.reconnect && this.attempts <= this.options.maxRetries);
      var step = Math.min(this.options.maxReconnectDelay, this.options.reconnectDelay * Math.pow(2, Math.max(0, this.attempts - 1)));
      // Half fixed, half random: clients dropped together by a restart come back spread out.
      var delay = manual ? 0 : Math.round(step / 2 + Math.random() * step / 2);
      this.state = retry ? 'disconnected' : 'closed';
      var info = { code: code, reason: reason, wasConnected: wasConnected, attempts: this.attempts, reconnectIn: retry ? delay : null };
      if (!manual) {
        this.events.trigger(':disconnected', info);
        this.events.trigger('disconnected', info); // the 2012 yodachat name
      }
      if (!retry) {
        this._finishChannels(new WebRocketError(0, 'Closed', 'connection lost; no more retries'));
        return;
      }
      if (!manual) this._timer = setTimeout(function () { self.connect(); }, delay);
    }

    _finish(data) {
      var was = this.state;
      this.state = 'closed';
      this.socket = null;
      clearTimeout(this._closeTimer);
      this._finishChannels(new WebRocketError(0, 'Closed', 'the connection was closed'));
      // The session is over: a later connect() starts without subscriptions.
      this.channels.forEach(function (c) { c._gone(); c._stale = false; });
      if (this._closeWaiter) { this._closeWaiter.resolve(); this._closeWaiter = null; }
      if (was != 'closed') this.events.trigger(':closed', data);
    }

    _finishChannels(err) {
      err._quiet = true;
      this._authDone(err);
      this.channels.forEach(function (c) { c._settle(err); });
    }
  }

  WebRocket.Error = WebRocketError;
  WebRocket.Channel = Channel;
  WebRocket.Events = Events;
  WebRocket.version = '1.0.0';
  return WebRocket;
})();
if (typeof module == 'object' && module && module.exports) module.exports = WebRocket;
