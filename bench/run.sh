#!/usr/bin/env bash
# WebRocket benchmark: builds the server and the bench jar, then measures, one after the other,
#   1. WebRocket          (server pinned to CPU 0, -Xms256m -Xmx1g, fresh temp data dir)
#   2. bare Vert.x relay, writeTextMessage per socket (one flush per message)
#   3. bare Vert.x relay, pre-encoded frames, one flush per socket per event-loop pass
# with the load generator pinned to CPU 1. Prints the tables; writes bench/results/RUN.json.
#
#   bench/run.sh [quick|full] [generator options...]
#
# Generator options after the profile go to every target's generator, e.g. for an experiment
# `--ladder 2000000,4000000 --fixed` (exactly those steps) or `--no-wbp` (see Bench.java).
#
# Environment: BENCH_PORT_BASE (default 19080; uses BASE..BASE+3), BENCH_IDLE (idle WebSockets
# for the memory test, default 19000; needs ulimit -n > BENCH_IDLE + a few hundred for both
# processes), BENCH_CONNECT (connections for the connect-rate test, default 5000),
# BENCH_TARGETS (default "webrocket relay-flush relay-coalesced"), BENCH_PHASES (default
# "memory,connect,fanout1000,fanout10000,backend,history1000,history10000,recovery"; historyN is the
# fan-out to N on the bench channel without and then with a history rule, recovery the replay of
# 1,000 messages to 1,000 reconnecting subscribers: WebRocket only, see docs/performance.md).
set -euo pipefail

PROFILE="${1:-quick}"
case "$PROFILE" in quick|full) ;; *) echo "usage: $0 [quick|full] [generator options...]" >&2; exit 2 ;; esac
GEN_EXTRA=("${@:2}")

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
BASE="${BENCH_PORT_BASE:-19080}"
WS_PORT=$BASE; BE_PORT=$((BASE + 1)); AD_PORT=$((BASE + 2)); RELAY_PORT=$((BASE + 3))
IDLE="${BENCH_IDLE:-19000}"
CONNECT="${BENCH_CONNECT:-5000}"
TARGETS="${BENCH_TARGETS:-webrocket relay-flush relay-coalesced}"
PHASES="${BENCH_PHASES:-memory,connect,fanout1000,fanout10000,backend,history1000,history10000,recovery}"
source "$BENCH/common.sh"

ulimit -n 20000 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE + 500)) ]; then
  IDLE=$(( $(ulimit -n) - 1000 ))
  echo "ulimit -n is $(ulimit -n): memory test lowered to $IDLE idle WebSockets" >&2
fi
if [ "$(nproc --all)" -lt 2 ]; then
  echo "needs 2 CPUs (server on CPU 0, generator on CPU 1)" >&2; exit 1
fi

build_jars

RUN="$(date -u +%Y%m%dT%H%M%SZ)-$PROFILE"
OUT="$BENCH/results/$RUN"
mkdir -p "$OUT"
DATA="$(mktemp -d /tmp/webrocket-bench.XXXXXX)"
SPID=""

stop_server() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
  fi
  SPID=""
}
cleanup() { stop_server; rm -rf "$DATA"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

generate() { # target, extra args...
  local t="$1"; shift
  taskset -c 1 java "${GEN_JVM[@]}" -jar "$BENCH_JAR" --target "$t" --ws-port "$1" --server-pid "$SPID" \
    --profile "$PROFILE" --idle "$IDLE" --connect "$CONNECT" --phases "$PHASES" --out "$OUT/$t.json" "${@:2}" \
    ${GEN_EXTRA[@]+"${GEN_EXTRA[@]}"} | tee "$OUT/$t.log"
}

echo "== run $RUN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $TARGETS; do
  echo "== $t"
  case "$t" in
    webrocket)
      rm -rf "$DATA"/*
      taskset -c 0 java "${SERVER_JVM[@]}" "${WEBROCKET_FLAGS[@]}" -jar "$SERVER_JAR" -storage-dir "$DATA" \
        -websocket-addr "127.0.0.1:$WS_PORT" -backend-addr "127.0.0.1:$BE_PORT" -admin-addr "127.0.0.1:$AD_PORT" \
        >"$OUT/server-$t.log" 2>&1 &
      SPID=$!
      wait_port "$AD_PORT" 60 "$SPID" || { echo "server did not start:"; cat "$OUT/server-$t.log"; exit 1; }
      COOKIE=""
      for _ in $(seq 1 100); do
        f=$(ls "$DATA"/*.cookie 2>/dev/null | head -1 || true)
        if [ -n "$f" ]; then COOKIE=$(tr -d '[:space:]' <"$f"); break; fi
        sleep 0.1
      done
      [ -n "$COOKIE" ] || { echo "no cookie file in $DATA"; exit 1; }
      generate "$t" "$WS_PORT" --backend-port "$BE_PORT" --admin-port "$AD_PORT" --cookie "$COOKIE"
      ;;
    relay-flush|relay-coalesced)
      taskset -c 0 java "${SERVER_JVM[@]}" -cp "$BENCH_JAR" io.webrocket.bench.Relay "$RELAY_PORT" "${t#relay-}" \
        >"$OUT/server-$t.log" 2>&1 &
      SPID=$!
      wait_port "$RELAY_PORT" 60 "$SPID" || { echo "relay did not start:"; cat "$OUT/server-$t.log"; exit 1; }
      generate "$t" "$RELAY_PORT"
      ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  stop_server
done

echo "== summary"
java -cp "$BENCH_JAR" io.webrocket.bench.Report "$OUT" "$BENCH/results/$RUN.json" "bench/run.sh $PROFILE"
