#!/usr/bin/env bash
# Scale-out measurement of issue 11 ("Numbers it must reach"), run as `bench/cluster.sh scale`:
# one node alone and a three-node cluster on 127.0.0.1, all four started at once and measured
# side by side in one run by io.webrocket.bench.Scale (see its comment for the four parts):
#   1. 10,000 WebSockets connect + subscribe to one open channel: single node, then all through
#      node 2 of 3 (node 1 holds no socket); every node's CPU time and RSS growth meanwhile
#   2. the same round-robin through each node of three
#   3. one persistent WBP connection (KA) pipelining BC, window 256, 4 s, in 3 rounds: on the
#      single node with its 4 subscribers, then in the cluster on node 3 with 2 subscribers on
#      node 1 and 2 on node 2; the medians of the rounds are compared. Per-node capacity: while
#      the cluster is measured, nodes 1 and 2 (which only receive) are moved to CPU 1 with the
#      generator at nice 10, so node 3 has CPU 0 to itself as the single node has and the
#      receivers do not delay the generator's answers (back to CPU 0, nice 0, after)
#   4. 1,000 presence members join one channel (single; cluster: round-robin over 3 nodes),
#      the subscribers lists seen on every node are compared, then node 3 is killed (SIGKILL)
#      and the time until all of its members have left (at node 1) is measured
# Pinning: every server (the single node and the three cluster nodes) runs under `taskset -c 0`,
# the generator under `taskset -c 1`, as bench/run.sh and bench/cluster.sh do. The 2-core
# machine cannot give each node a core of its own: CPU time per node (from /proc/PID/stat) and
# RSS growth, not wall-clock speed-up, are the cluster's figures to read.
# Node 1 is started first and waited for, so under the leader design it is the leader.
#
# Writes bench/results/RUN-scale.json (small; listed in bench/results/INDEX.md by hand) and keeps
# the server and generator logs in bench/results/RUN-scale/ (not committed).
#
# Environment: BENCH_PORT_BASE (default 19080; node i (0..2) uses BASE+100i .. +2 and Hazelcast
# BASE+100i+10, the single node BASE+300 .. +2), SCALE_SOCKETS (10000), SCALE_PRESENCE (1000),
# SCALE_CONCURRENCY (subscribe handshakes in flight, 256), BENCH_GEN_TRANSPORT (generator: epoll),
# SCALE_KA_ROUNDS (3), SCALE_KA_WINDOW (BCs in flight, 256), SCALE_KA_SHARED_CORE (1: each round
# also measures the cluster with all three nodes on CPU 0, the cluster's whole CPU on one core),
# BENCH_SERVER_JVM_EXTRA (more JVM flags for every server, e.g. for perf:
# "-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer"),
# SCALE_PARTS (default subscribe,ka,presence: the parts to run), SCALE_KA_MS (the KA part's measured
# time, 4000 ms), SCALE_KA_WARMUP_MS (its unmeasured warm-up before: until every server's JIT
# compiler is idle, at most 60000 ms; a cold server's compiler otherwise takes more of the pinned
# core than the broadcasts do; each node's compiler CPU is reported apart),
# SCALE_JFR (off by default: a comma list of servers among node1,node2,node3,single to record with
# Java Flight Recorder, settings=profile, from start to exit, into the run's log folder as
# jfr-NAME.jfr; read it with bench/jfr-top.py).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
BASE="${BENCH_PORT_BASE:-19080}"
NODES=3
source "$BENCH/common.sh"
# epoll for the generator: io_uring's completion queue overflows (and warns per event) with 10,000 sockets.
export BENCH_GEN_TRANSPORT="${BENCH_GEN_TRANSPORT:-epoll}"

ws_port() { echo $((BASE + 100 * $1)); }
be_port() { echo $((BASE + 100 * $1 + 1)); }
ad_port() { echo $((BASE + 100 * $1 + 2)); }
hz_port() { echo $((BASE + 100 * $1 + 10)); }
SINGLE=$NODES # the single node's port slot

ulimit -n 20000 2>/dev/null || true
if [ "$(ulimit -n)" -lt 15000 ]; then echo "needs ulimit -n >= 15000 (10,000 sockets)" >&2; exit 1; fi
if [ "$(nproc --all)" -lt 2 ]; then echo "needs 2 CPUs (servers on CPU 0, generator on CPU 1)" >&2; exit 1; fi
for i in $(seq 0 $NODES); do
  for p in $(ws_port "$i") $(be_port "$i") $(ad_port "$i") $(hz_port "$i"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "port $p is already in use: stop what listens there or set BENCH_PORT_BASE" >&2; exit 1
    fi
  done
done

build_jars

RUN="$(date -u +%Y%m%dT%H%M%SZ)-scale"
OUT="$BENCH/results/$RUN"
mkdir -p "$OUT"
DATA="$(mktemp -d /tmp/webrocket-scale-bench.XXXXXX)"
export WEBROCKET_CLUSTER_NAME="webrocket-scale-$$-$RANDOM"
COOKIE="$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')"
export WEBROCKET_ADMIN_COOKIE="$COOKIE"
PIDS=()

stop_servers() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() { stop_servers; rm -rf "$DATA"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

jfr_flags() { # name -> the JFR flag when SCALE_JFR lists it
  case ",${SCALE_JFR:-}," in
    *",$1,"*) echo "-XX:StartFlightRecording=filename=$OUT/jfr-$1.jfr,settings=profile,dumponexit=true" ;;
  esac
}

start_node() { # slot, name, extra flags...
  local i="$1" name="$2"; shift 2
  mkdir -p "$DATA/$name"
  local jfr
  jfr="$(jfr_flags "$name")"
  taskset -c 0 java "${SERVER_JVM[@]}" ${jfr:+"$jfr"} "${WEBROCKET_FLAGS[@]}" -jar "$SERVER_JAR" -node-name "$name" \
    -storage-dir "$DATA/$name" -websocket-addr "127.0.0.1:$(ws_port "$i")" -backend-addr "127.0.0.1:$(be_port "$i")" \
    -admin-addr "127.0.0.1:$(ad_port "$i")" "$@" >"$OUT/server-$name.log" 2>&1 &
  PIDS+=($!)
}

members_seen() { # admin port -> number of members that node lists
  curl -s -m 5 -H "X-WebRocket-Cookie: $COOKIE" "http://127.0.0.1:$1/cluster" | grep -o '"address":"[^"]*"' | sort -u | wc -l
}

MEMBERS=""
for i in $(seq 0 $((NODES - 1))); do MEMBERS="$MEMBERS${MEMBERS:+,}127.0.0.1:$(hz_port "$i")"; done
echo "== run $RUN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== servers pinned to CPU 0 (taskset -c 0), generator to CPU 1 (taskset -c 1)"
start_node 0 node1 -cluster -cluster-host 127.0.0.1 -cluster-port "$(hz_port 0)" -cluster-members "$MEMBERS"
wait_port "$(ad_port 0)" 120 "${PIDS[0]}" || { echo "node1 did not start:"; tail -50 "$OUT/server-node1.log"; exit 1; }
for i in $(seq 1 $((NODES - 1))); do
  start_node "$i" "node$((i + 1))" -cluster -cluster-host 127.0.0.1 -cluster-port "$(hz_port "$i")" -cluster-members "$MEMBERS"
done
start_node "$SINGLE" single
for i in $(seq 1 $NODES); do
  wait_port "$(ad_port "$i")" 120 "${PIDS[$i]}" || { echo "server $i did not start:"; tail -50 "$OUT"/server-*.log; exit 1; }
done
formed=""
deadline=$((SECONDS + 90))
while [ "$SECONDS" -lt "$deadline" ]; do
  ok=1
  for i in $(seq 0 $((NODES - 1))); do [ "$(members_seen "$(ad_port "$i")")" = "$NODES" ] || ok=0; done
  if [ "$ok" = 1 ]; then formed=1; break; fi
  sleep 0.5
done
[ -n "$formed" ] || { echo "the cluster did not form ($NODES members on every node) within 90 s"; exit 1; }
curl -s -m 5 -H "X-WebRocket-Cookie: $COOKIE" "http://127.0.0.1:$(ad_port 0)/cluster" >"$OUT/cluster-status.json" || true
echo "   cluster formed: $NODES members on every node; single node pid ${PIDS[$SINGLE]}"
sleep 3

spec() { echo "$(ws_port "$1"):$(be_port "$1"):$(ad_port "$1"):${PIDS[$1]}"; }
CLUSTER_SPEC="$(spec 0),$(spec 1),$(spec 2)"
timeout 1800 taskset -c 1 java "${GEN_JVM[@]}" -cp "$BENCH_JAR" io.webrocket.bench.Scale \
  --single "$(spec "$SINGLE")" --cluster "$CLUSTER_SPEC" --cookie "$COOKIE" \
  --sockets "${SCALE_SOCKETS:-10000}" --presence "${SCALE_PRESENCE:-1000}" --concurrency "${SCALE_CONCURRENCY:-256}" \
  --parts "${SCALE_PARTS:-subscribe,ka,presence}" --ka-ms "${SCALE_KA_MS:-4000}" --ka-warmup-ms "${SCALE_KA_WARMUP_MS:-60000}" --window "${SCALE_KA_WINDOW:-256}" --ka-rounds "${SCALE_KA_ROUNDS:-3}" --ka-shared-core "${SCALE_KA_SHARED_CORE:-0}" --out "$BENCH/results/$RUN.json" | tee "$OUT/generator.log"
echo "== results: bench/results/$RUN.json (logs in bench/results/$RUN/)"
