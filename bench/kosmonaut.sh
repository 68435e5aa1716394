#!/usr/bin/env bash
# Kosmonaut client benchmark: broadcast calls per second and per-call latency (p50/p99) from one
# io.webrocket.kosmonaut.Client with 1, 8 and 32 calling threads, next to the same BC requests
# written by hand on one raw KA connection (1, 8, 32, 512 in flight). Server pinned to CPU 0 at
# -Xms256m -Xmx1g (as bench/run.sh), the driver to CPU 1; and one thread keeping 512 broadcastAsync calls in
# flight. Bounded: 10 s of warm-up, then 8 steps of 1 s warm-up plus
# SECONDS (default 5) each, under two minutes in all. Writes bench/results/RUN-kosmonaut.json.
#
#   bench/kosmonaut.sh [SECONDS]
#
# Environment: BENCH_PORT_BASE (default 19680; uses BASE+1, BASE+2 and BASE itself).
set -euo pipefail

SECONDS_PER_STEP="${1:-5}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
BASE="${BENCH_PORT_BASE:-19680}"
WS_PORT=$BASE; BE_PORT=$((BASE + 1)); AD_PORT=$((BASE + 2))
source "$BENCH/common.sh"

if [ "$(nproc --all)" -lt 2 ]; then
  echo "needs 2 CPUs (server on CPU 0, driver on CPU 1)" >&2; exit 1
fi
for p in $WS_PORT $BE_PORT $AD_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is already in use: stop what listens there or set BENCH_PORT_BASE" >&2; exit 1
  fi
done
echo "== building server and library jars"
(cd "$ROOT" && mvn -B -ntp -q package -DskipTests)
SERVER_JAR="$ROOT/target/webrocket.jar"

RUN="$(date -u +%Y%m%dT%H%M%SZ)-kosmonaut"
mkdir -p "$BENCH/results"
DATA="$(mktemp -d /tmp/webrocket-kbench.XXXXXX)"
LOG="$DATA/server.log"
SPID=""
cleanup() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SPID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== run $RUN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 java "${SERVER_JVM[@]}" "${WEBROCKET_FLAGS[@]}" -jar "$SERVER_JAR" -storage-dir "$DATA/store" \
  -websocket-addr "127.0.0.1:$WS_PORT" -backend-addr "127.0.0.1:$BE_PORT" -admin-addr "127.0.0.1:$AD_PORT" \
  >"$LOG" 2>&1 &
SPID=$!
wait_port "$AD_PORT" 60 "$SPID" || { echo "server did not start:"; cat "$LOG"; exit 1; }
COOKIE=""
for _ in $(seq 1 100); do
  f=$(ls "$DATA"/store/*.cookie 2>/dev/null | head -1 || true)
  if [ -n "$f" ]; then COOKIE=$(tr -d '[:space:]' <"$f"); break; fi
  sleep 0.1
done
[ -n "$COOKIE" ] || { echo "no cookie file"; exit 1; }

# The library jar and jackson-core (inside the server jar) are all the driver needs.
timeout 300 taskset -c 1 java -Xms256m -Xmx1g -cp "$ROOT/target/kosmonaut.jar:$SERVER_JAR" \
  "$BENCH/kosmonaut/KosmonautBench.java" "$BE_PORT" "$AD_PORT" "$COOKIE" "$SECONDS_PER_STEP" \
  "$BENCH/results/$RUN.json"
echo "== wrote bench/results/$RUN.json (command: bench/kosmonaut.sh $SECONDS_PER_STEP)"
