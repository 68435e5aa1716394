# Shared by bench/run.sh and bench/cluster.sh (sourced, not run): the JVM settings both compare
# servers with, the broker flags a load test needs, the jar build, and a bounded port wait.
# Expects ROOT (repository) and BENCH (this folder) to be set.

# Servers are compared at the same heap, pinned to CPU 0 by the callers. BENCH_SERVER_JVM_EXTRA:
# more flags for a diagnosis (a perf map, GC logs); unset for figures that are compared.
SERVER_JVM=(-Xms256m -Xmx1g ${BENCH_SERVER_JVM_EXTRA:-})
# The broker's per-connection limits protect production nodes from floods; the publisher here
# is a flood by design. The access log (one line per request) is off, as for any load test.
WEBROCKET_FLAGS=(-Dwebrocket.limits.messagesPerSecond=100000000 -Dwebrocket.limits.messagesBurst=100000000
  -Dwebrocket.limits.backendRequestsPerSecond=100000000 -Dwebrocket.limits.backendRequestsBurst=100000000
  -Dwebrocket.log.access=false)
GEN_JVM=(-Xms512m -Xmx1g -Dio.netty.leakDetection.level=disabled)

# Builds the server jar (root project) and the generator jar (bench/); sets SERVER_JAR, BENCH_JAR.
build_jars() {
  echo "== building server and bench jars"
  (cd "$ROOT" && mvn -B -ntp -q package -DskipTests)
  (cd "$BENCH" && mvn -B -ntp -q package)
  SERVER_JAR="$ROOT/target/webrocket.jar"
  BENCH_JAR="$BENCH/target/webrocket-bench.jar"
}

# wait_port PORT SECONDS PID: true once PORT accepts on 127.0.0.1; false if PID exits or time runs out.
wait_port() {
  for _ in $(seq 1 $(( $2 * 10 ))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
