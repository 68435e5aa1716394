#!/usr/bin/env bash
# Cross-node broadcast benchmark: the same fan-out load on
#   1. one WebRocket node                               (pinned to CPU 0, as bench/run.sh runs it)
#   2. three clustered WebRocket nodes on this machine  (all three pinned to CPU 0)
# with the load generator pinned to CPU 1. In the cluster the subscribers are spread round-robin
# over the three nodes' WebSocket ports and the publisher (a browser connection, then one WBP KA
# connection) is on node 0, so two thirds of the deliveries cross the clustered event bus.
#
# The machine has two cores: all servers share CPU 0, so this measures what clustering costs on
# one core (event-bus copies to the other nodes, three JVMs and Hazelcast on one core), not
# scale-out. Prints the side-by-side tables; writes bench/results/RUN-cluster.json.
#
#   bench/cluster.sh [quick|full]
#   bench/cluster.sh scale        the scale-out measurement of issue 11: see bench/scale.sh
#
# Environment: BENCH_PORT_BASE (default 19080; node i uses BASE+100i .. +2 and Hazelcast on
# BASE+100i+10), CLUSTER_PHASES (default "fanout1000,fanout3000"), CLUSTER_LADDER (deliveries/s
# ladder, default 50k .. 2.8M), CLUSTER_ALSO_AT (fixed deliveries/s measured on both setups,
# default 50000; empty for none), CLUSTER_P99_LIMIT_MS (default: the usual N/20 ms, at least
# 50 ms), CLUSTER_WBP (1: also sweep with a WBP KA publisher, the default; 0: browser only),
# CLUSTER_SETUPS (default "single cluster"), CLUSTER_OPEN_CONCURRENCY (subscribe handshakes in
# flight, default 100).
set -euo pipefail

PROFILE="${1:-quick}"
case "$PROFILE" in quick|full) ;; scale) exec "$(dirname "$0")/scale.sh" ;; *) echo "usage: $0 [quick|full|scale]" >&2; exit 2 ;; esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
BASE="${BENCH_PORT_BASE:-19080}"
NODES=3
PHASES="${CLUSTER_PHASES:-fanout1000,fanout3000}"
LADDER="${CLUSTER_LADDER:-50000,100000,200000,400000,700000,1000000,1400000,2000000,2800000}"
ALSO_AT="${CLUSTER_ALSO_AT-50000}"
SETUPS="${CLUSTER_SETUPS:-single cluster}"
source "$BENCH/common.sh"
# At most 100 subscribe handshakes in flight by default: in the cluster every subscribe queues at
# the leader's registry, and the runs in docs/cluster-benchmark.md were made that way.
GEN_EXTRA=(--server-cpu 0 --ladder "$LADDER" --open-concurrency "${CLUSTER_OPEN_CONCURRENCY:-100}")
[ -n "$ALSO_AT" ] && GEN_EXTRA+=(--also-at "$ALSO_AT")
[ -n "${CLUSTER_P99_LIMIT_MS:-}" ] && GEN_EXTRA+=(--p99-limit-ms "$CLUSTER_P99_LIMIT_MS")
[ "${CLUSTER_WBP:-1}" = 0 ] && GEN_EXTRA+=(--no-wbp 1)

ws_port() { echo $((BASE + 100 * $1)); }
be_port() { echo $((BASE + 100 * $1 + 1)); }
ad_port() { echo $((BASE + 100 * $1 + 2)); }
hz_port() { echo $((BASE + 100 * $1 + 10)); }

ulimit -n 20000 2>/dev/null || true
if [ "$(nproc --all)" -lt 2 ]; then
  echo "needs 2 CPUs (servers on CPU 0, generator on CPU 1)" >&2; exit 1
fi
for i in $(seq 0 $((NODES - 1))); do
  for p in $(ws_port "$i") $(be_port "$i") $(ad_port "$i") $(hz_port "$i"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "port $p is already in use: stop what listens there or set BENCH_PORT_BASE" >&2; exit 1
    fi
  done
done

build_jars

RUN="$(date -u +%Y%m%dT%H%M%SZ)-$PROFILE"
OUT="$BENCH/results/$RUN-cluster"
mkdir -p "$OUT"
DATA="$(mktemp -d /tmp/webrocket-cluster-bench.XXXXXX)"
# A cluster name of our own (never joins another cluster on this machine) and one admin cookie for every node.
export WEBROCKET_CLUSTER_NAME="webrocket-bench-$$-$RANDOM"
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

start_node() { # index, name, extra flags...
  local i="$1" name="$2"; shift 2
  mkdir -p "$DATA/$name"
  taskset -c 0 java "${SERVER_JVM[@]}" "${WEBROCKET_FLAGS[@]}" -jar "$SERVER_JAR" -node-name "$name" \
    -storage-dir "$DATA/$name" -websocket-addr "127.0.0.1:$(ws_port "$i")" -backend-addr "127.0.0.1:$(be_port "$i")" \
    -admin-addr "127.0.0.1:$(ad_port "$i")" "$@" >"$OUT/server-$name.log" 2>&1 &
  PIDS+=($!)
}

cluster_status() { # admin port -> "MEMBERS LEADER" as that node sees it
  local body
  body=$(curl -s -m 5 -H "X-WebRocket-Cookie: $COOKIE" "http://127.0.0.1:$1/cluster" || true)
  echo "$(grep -o '"id":"[^"]*"' <<<"$body" | sort -u | wc -l) $(grep -o '"leader":"[^"]*"' <<<"$body" | head -1 | cut -d'"' -f4)"
}

idle_cpu() { # name: the servers' CPU while idle (no client), share of one core over 5 s, after 3 s of rest
  local t0=0 t1=0 p
  sleep 3
  for p in "${PIDS[@]}"; do t0=$((t0 + $(cut -d' ' -f14,15 "/proc/$p/stat" | tr ' ' '+'))); done
  sleep 5
  for p in "${PIDS[@]}"; do t1=$((t1 + $(cut -d' ' -f14,15 "/proc/$p/stat" | tr ' ' '+'))); done
  awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 100 / 5 }' >"$OUT/idle-$1.txt"
  echo "   idle servers: $(awk '{ printf "%.1f %%", $1 * 100 }' "$OUT/idle-$1.txt") of CPU 0"
}

generate() { # name, extra args...
  local name="$1"; shift
  # the generator bounds every phase itself; the timeout is only a safety net
  timeout 1800 taskset -c 1 java "${GEN_JVM[@]}" -jar "$BENCH_JAR" --target webrocket --profile "$PROFILE" \
    --phases "$PHASES" --backend-port "$(be_port 0)" --admin-port "$(ad_port 0)" --cookie "$COOKIE" \
    "${GEN_EXTRA[@]}" --out "$OUT/$name.json" "$@" | tee "$OUT/$name.log"
}

echo "== run $RUN, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== every server is pinned to CPU 0 and the generator to CPU 1: with $NODES nodes this measures"
echo "   the clustering overhead on one core (the nodes share it), not scale-out"
for setup in $SETUPS; do
  case "$setup" in
    single)
      echo "== single: one node, ws $(ws_port 0)"
      start_node 0 single
      wait_port "$(ad_port 0)" 90 "${PIDS[0]}" || { echo "server did not start:"; cat "$OUT/server-single.log"; exit 1; }
      idle_cpu single
      generate single --ws-port "$(ws_port 0)" --server-pid "${PIDS[0]}"
      ;;
    cluster)
      MEMBERS=""
      WS=""
      for i in $(seq 0 $((NODES - 1))); do
        MEMBERS="$MEMBERS${MEMBERS:+,}127.0.0.1:$(hz_port "$i")"
        WS="$WS${WS:+,}$(ws_port "$i")"
      done
      echo "== cluster: $NODES nodes (Hazelcast $MEMBERS, cluster name $WEBROCKET_CLUSTER_NAME), ws $WS"
      # node 0 first: the oldest member runs the vhost registries
      start_node 0 node0 -cluster -cluster-host 127.0.0.1 -cluster-port "$(hz_port 0)" -cluster-members "$MEMBERS"
      wait_port "$(ad_port 0)" 90 "${PIDS[0]}" || { echo "node0 did not start:"; tail -50 "$OUT/server-node0.log"; exit 1; }
      for i in $(seq 1 $((NODES - 1))); do
        start_node "$i" "node$i" -cluster -cluster-host 127.0.0.1 -cluster-port "$(hz_port "$i")" -cluster-members "$MEMBERS"
      done
      for i in $(seq 1 $((NODES - 1))); do
        wait_port "$(ad_port "$i")" 120 "${PIDS[$i]}" || { echo "node$i did not start:"; tail -50 "$OUT/server-node$i.log"; exit 1; }
      done
      formed=""
      deadline=$((SECONDS + 90))
      while [ "$SECONDS" -lt "$deadline" ]; do
        leaders=""
        ok=1
        for i in $(seq 0 $((NODES - 1))); do
          read -r m l <<<"$(cluster_status "$(ad_port "$i")")"
          if [ "$m" != "$NODES" ] || [ -z "$l" ]; then ok=0; fi
          leaders="$leaders $l"
        done
        if [ "$ok" = 1 ] && [ "$(tr ' ' '\n' <<<"$leaders" | sed '/^$/d' | sort -u | wc -l)" = 1 ]; then formed=1; break; fi
        sleep 0.5
      done
      [ -n "$formed" ] || { echo "the cluster did not form (3 members, one leader) within 90 s"; \
        for i in $(seq 0 $((NODES - 1))); do echo "node$i: $(cluster_status "$(ad_port "$i")")"; done; exit 1; }
      echo "   formed: $NODES members on every node, leader $(cut -d' ' -f2 <<<"$(cluster_status "$(ad_port 0)")")"
      curl -s -m 5 -H "X-WebRocket-Cookie: $COOKIE" "http://127.0.0.1:$(ad_port 0)/cluster" >"$OUT/cluster-status.json" || true
      idle_cpu cluster
      generate cluster --ws-port "$(ws_port 0)" --ws-ports "$WS" --server-pid "$(IFS=,; echo "${PIDS[*]}")"
      ;;
    *) echo "unknown setup $setup" >&2; exit 2 ;;
  esac
  stop_servers
done

echo "== summary (servers on CPU 0, generator on CPU 1; $NODES nodes share one core: clustering overhead, not scale-out)"
java -cp "$BENCH_JAR" io.webrocket.bench.ClusterReport "$OUT" "$BENCH/results/$RUN-cluster.json" "bench/cluster.sh $PROFILE"
