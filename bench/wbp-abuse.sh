#!/usr/bin/env bash
# Issue 12's backend attacks against a node in its own JVM (-Xmx1g, default settings, fresh
# data dir), each for a bounded time, measuring the server's used heap after a forced GC
# (jcmd GC.run + GC.heap_info) and its RSS before and after:
#   ka        a KA client pipelining OC without reading its replies (12 s)
#   junk      a worker sending junk commands without reading (12 s)
#   empty     50 connections each sending "A\n" + 65,000 empty lines, no end
#   metrics   1,000 one-shot requests with made-up vhosts: /metrics size
#
#   bench/wbp-abuse.sh            (builds target/webrocket.jar if missing)
#
# Environment: ABUSE_HISTOGRAM=1 prints the server's largest classes after each attack;
# ABUSE_PORT_BASE (default random in 24000-27999; uses BASE..BASE+2).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${ABUSE_PORT_BASE:-$((24000 + RANDOM % 4000))}"
WS=$BASE; BE=$((BASE + 1)); AD=$((BASE + 2))
JAR="$ROOT/target/webrocket.jar"
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -ntp -q package -DskipTests)
DATA="$(mktemp -d /tmp/webrocket-abuse.XXXXXX)"
SPID=""
cleanup() {
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT
for p in $WS $BE $AD; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is taken: set ABUSE_PORT_BASE" >&2; exit 1; fi
done
java -Xms256m -Xmx1g -jar "$JAR" -websocket-addr 127.0.0.1:$WS -backend-addr 127.0.0.1:$BE \
  -admin-addr 127.0.0.1:$AD -storage-dir "$DATA" -node-name abuse > "$DATA/out.log" 2>&1 &
SPID=$!
for _ in $(seq 1 1200); do
  [ -s "$DATA/abuse.cookie" ] && (exec 3<>"/dev/tcp/127.0.0.1/$AD") 2>/dev/null && break
  kill -0 "$SPID" 2>/dev/null || { cat "$DATA/out.log"; exit 1; }
  sleep 0.1
done
COOKIE="$(cat "$DATA/abuse.cookie")"

python3 - "$BE" "$AD" "$COOKIE" "$SPID" <<'PY'
import json, os, socket, subprocess, sys, threading, time, urllib.request, uuid
be, ad, cookie, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

def admin(method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{ad}{path}", method=method, headers={"X-WebRocket-Cookie": cookie})
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k): return None
    try:
        return urllib.request.build_opener(NoRedirect).open(req, timeout=10).read()
    except urllib.error.HTTPError as e:
        if e.code >= 400: raise RuntimeError(f"{method} {path}: {e.code} {e.read()}")
        return e.read()

def heap():
    # Live bytes: the class histogram runs a full GC first and counts what survives (G1's
    # "used" after System.gc() still counts regions it has not given back).
    out = subprocess.run(["jcmd", pid, "GC.class_histogram"], capture_output=True, text=True).stdout
    total = [l for l in out.splitlines() if l.startswith("Total")][0]
    return round(int(total.split()[2]) / 1048576, 1)

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024

def msg(identity, *frames):
    head = identity + "\n\n" if identity else ""
    return (head + "\n".join(frames) + "\n\r\n\r\n").encode()

def token(v):
    admin("POST", v)
    return json.loads(admin("GET", v))["vhost"]["accessToken"]

def flood(first, chunk, seconds):
    s = socket.create_connection(("127.0.0.1", be))
    s.sendall(first)
    s.settimeout(1)
    sent, end = 0, time.time() + seconds
    while time.time() < end:
        try:
            sent += s.send(chunk)
        except socket.timeout:
            pass
        except OSError:
            break
    return s, sent

def report(name, h0, r0, extra):
    h1, r1 = heap(), rss()
    print(f"{name:8s} live heap after GC {h0} -> {h1} MB ({h1 - h0:+.1f}), RSS {r0} -> {r1} MB ({r1 - r0:+d}); {extra}", flush=True)
    if os.environ.get("ABUSE_HISTOGRAM"):
        out = subprocess.run(["jcmd", pid, "GC.class_histogram"], capture_output=True, text=True).stdout
        print("\n".join(out.splitlines()[:14]), flush=True)

t = token("/abuse")
admin("POST", "/abuse/channels/c")
h0, r0 = heap(), rss()
s, sent = flood(msg(f"req:/abuse:{t}:{uuid.uuid4()}", "KA"), msg(None, "OC", "c") * 4096, 12)
report("ka", h0, r0, f"{sent / 1048576:.1f} MB sent in 12 s")
s.close()

h0, r0 = heap(), rss()
s, sent = flood(msg(f"dlr:/abuse:{t}:{uuid.uuid4()}", "RD"), msg(None, "XX") * 8192, 12)
report("junk", h0, r0, f"{sent / 1048576:.1f} MB sent in 12 s")
s.close()

h0, r0 = heap(), rss()
socks = []
for i in range(50):
    c = socket.create_connection(("127.0.0.1", be))
    c.sendall(b"A\n" + b"\n" * 65000)
    socks.append(c)
time.sleep(2)
answered = 0
for c in socks:
    c.settimeout(5)
    try:
        answered += c.recv(100).startswith(b"ER\n400")
    except OSError:
        pass
report("empty", h0, r0, f"{answered}/50 answered ER 400")
for c in socks:
    c.close()

before = len(admin("GET", "/metrics"))
h0, r0 = heap(), rss()
for i in range(1000):
    c = socket.create_connection(("127.0.0.1", be))
    c.sendall(msg(f"req:/madeup{i}:{'0' * 40}:{uuid.uuid4()}", "OC", "x"))
    c.settimeout(5)
    try:
        c.recv(100)
    except OSError:
        pass
    c.close()
report("metrics", h0, r0, f"/metrics {before} -> {len(admin('GET', '/metrics'))} bytes")
PY
