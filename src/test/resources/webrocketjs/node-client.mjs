// webrocket.js in Node (global WebSocket: Node >= 22, or Node 20/21 with --experimental-websocket),
// loaded from the broker: the ES module form by import, the classic form by require().
// Env: WS_PORT, VHOST, TOKENS (comma-separated single access tokens, one per authentication).
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = `http://127.0.0.1:${process.env.WS_PORT}`;
const out = (line) => console.log(line);
const timeout = setTimeout(() => { out('TIMEOUT'); process.exit(2); }, 20000);

const esm = await (await fetch(`${base}/webrocket.mjs`)).text();
const { default: WebRocket, WebRocket: named } = await import('data:text/javascript,' + encodeURIComponent(esm));
out('esm ' + typeof WebRocket + ' ' + (WebRocket === named));

const dir = mkdtempSync(join(tmpdir(), 'webrocketjs-'));
writeFileSync(join(dir, 'webrocket.cjs'), await (await fetch(`${base}/webrocket.js`)).text());
const Classic = createRequire(import.meta.url)(join(dir, 'webrocket.cjs'));
out('cjs ' + typeof Classic + ' ' + Classic.version);

const tokens = process.env.TOKENS.split(',');
let asked = 0;
const wr = new WebRocket(`ws://127.0.0.1:${process.env.WS_PORT}${process.env.VHOST}`, { reconnectDelay: 100 });
wr.bind(':error', (e) => out(':error ' + e.code));
const auth = wr.authenticate(async () => tokens[asked++]);
const room = wr.subscribe('presence-node', { name: 'Node' });
await auth;
out('authenticated ' + wr.authenticated);
await room.ready;
out('subscribed ' + room.state + ' ' + wr.uid);
const echo = new Promise((resolve) => room.bind('hi', resolve));
room.broadcast('hi', { from: 'node' });
out('echo ' + (await echo).from);

// The connection drops: the client reconnects, authenticates with the next token, resubscribes.
const back = new Promise((resolve) => wr.bind(':reconnected', resolve));
wr.bind(':disconnected', () => out(':disconnected ' + wr.state));
wr.socket.close();
await back;
out('reconnected ' + wr.state + ' tokens ' + asked + ' members ' + room.subscribers.map((m) => m.uid).join(','));
const again = new Promise((resolve) => room.bind('hi', resolve));
room.broadcast('hi', { from: 'node again' });
out('echo ' + (await again).from);
await wr.close();
out('closed ' + wr.state);
clearTimeout(timeout);
