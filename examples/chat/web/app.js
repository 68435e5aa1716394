// The WebRocket demo chat: rooms are presence channels "presence-room-NAME", messages go to the
// backend worker as a "message" trigger, which saves them and broadcasts "message" on the room.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var wr = null, name = null, room = null, channel = null;

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (!r.ok) throw new Error(method + ' ' + path + ': HTTP ' + r.status);
      return r.json();
    });
  }

  function showError(text) {
    var e = $('error');
    e.textContent = text;
    e.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(function () { e.hidden = true; }, 8000);
  }

  function setStatus(state) {
    var s = $('status');
    s.textContent = state;
    s.className = 'status ' + state;
  }

  // The broker serves the client at /webrocket.js on its WebSocket port.
  function loadClient(wsUrl) {
    var u = new URL(wsUrl);
    u.protocol = u.protocol == 'wss:' ? 'https:' : 'http:';
    u.pathname = '/webrocket.js';
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = u.href;
      s.onload = resolve;
      s.onerror = function () { reject(new Error('cannot load ' + u.href)); };
      document.head.appendChild(s);
    });
  }

  // ---- rendering ----

  function renderRooms(names) {
    var ul = $('rooms');
    ul.textContent = '';
    names.forEach(function (n) {
      var li = document.createElement('li');
      li.dataset.room = n;
      if (n == room) li.className = 'current';
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = '# ' + n;
      b.onclick = function () { join(n); };
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function renderMembers() {
    var ul = $('members');
    ul.textContent = '';
    if (!channel) return;
    // One entry per connection: a user in two tabs is shown once.
    var seen = {};
    channel.subscribers.each(function (m) {
      var label = (m.data && m.data.name) || m.uid;
      if (seen[m.uid]) return;
      seen[m.uid] = true;
      var li = document.createElement('li');
      li.dataset.uid = m.uid;
      li.textContent = label;
      ul.appendChild(li);
    });
  }

  function appendMessage(m) {
    var li = document.createElement('li');
    li.className = 'message';
    var who = document.createElement('span');
    who.className = 'user';
    who.textContent = m.user;
    var text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.text;
    var time = document.createElement('time');
    time.className = 'time';
    if (m.time) time.textContent = new Date(m.time).toLocaleTimeString();
    li.append(who, text, time);
    $('messages').appendChild(li);
    li.scrollIntoView({ block: 'end' });
  }

  function appendSystem(text) {
    var li = document.createElement('li');
    li.className = 'system';
    li.textContent = text;
    $('messages').appendChild(li);
  }

  function loadHistory(r) {
    return api('GET', '/rooms/' + encodeURIComponent(r) + '/messages').then(function (list) {
      if (r != room) return;
      $('messages').textContent = '';
      list.forEach(appendMessage);
    });
  }

  // ---- rooms ----

  function join(r) {
    if (r == room) return;
    if (channel) wr.unsubscribe(channel.name);
    room = r;
    $('room-title').textContent = '# ' + r;
    $('messages').textContent = '';
    api('GET', '/rooms').then(renderRooms);
    channel = wr.subscribe('presence-room-' + r, { name: name });
    var c = channel;
    if (c.joined) { // a room visited before: its handlers are bound already
      renderMembers();
    } else {
      c.joined = true;
      c.bind(':subscribed', function () { if (c == channel) renderMembers(); });
      c.bind(':memberJoined', function (m) {
        if (c != channel) return;
        renderMembers();
        if (m.uid != wr.uid) appendSystem((m.name || m.uid) + ' joined');
      });
      c.bind(':memberLeft', function (m) {
        if (c != channel) return;
        renderMembers();
        appendSystem((m.name || m.uid) + ' left');
      });
      c.bind('message', function (m) { if (c == channel) appendMessage(m); });
      c.bind(':error', function (e) { showError('Room ' + r + ': ' + e.message); });
    }
    c.ready.then(function () { return loadHistory(r); }).catch(function () { /* shown by :error */ });
  }

  function start(wsUrl) {
    wr = new WebRocket(wsUrl);
    window.wr = wr; // for the console (and the tests)
    // Called on every (re)connect: tokens are single use.
    wr.authenticate(function () {
      return api('POST', '/webrocket/auth', { uid: name }).then(function (r) { return r.token; });
    }).catch(function () { /* shown by :error */ });
    wr.bind(':connected', function () { setStatus('connected'); });
    wr.bind(':disconnected', function (e) {
      setStatus('disconnected');
      appendSystem('Connection lost; reconnecting' + (e.reconnectIn != null ? ' in ' + (e.reconnectIn / 1000).toFixed(1) + ' s' : '') + '…');
    });
    wr.bind(':closed', function () { setStatus('closed'); });
    wr.bind(':error', function (e) { showError(e.message); });
    // Messages sent while we were away: the backend keeps them, so reload the room.
    wr.recover = function (c) {
      if (c == channel) loadHistory(room).then(function () { appendSystem('Reconnected'); });
    };
    join('lobby');
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    name = $('name').value.trim();
    sessionStorage.chatName = name;
    $('login').hidden = true;
    $('chat').hidden = false;
    api('GET', '/webrocket/config')
      .then(function (config) { return loadClient(config.url).then(function () { start(config.url); }); })
      .catch(function (err) { setStatus('closed'); showError(err.message); });
  });

  $('send').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = $('text');
    if (!input.value.trim()) return; // the worker drops blank lines
    wr.trigger('message', { room: room, user: name, text: input.value });
    input.value = '';
    input.focus();
  });

  $('new-room').addEventListener('submit', function (e) {
    e.preventDefault();
    var n = $('room-name').value.trim();
    api('POST', '/rooms', { name: n })
      .then(function () { $('room-name').value = ''; join(n); })
      .catch(function (err) { showError(err.message); });
  });

  if (sessionStorage.chatName) {
    $('name').value = sessionStorage.chatName;
  }
})();
