# Shared by the kubectl chaos experiments (scripts/chaos/*.sh, `make chaos`; docs/chaos.md).
# Sourced, not run. Each experiment: chaos_begin NAME, its preconditions, chaos_start_load,
# chaos_wait_for_acks, the fault, chaos_mark_fault, a recovery wait, chaos_finish (waits for the
# load, runs the loss verifier, prints `chaos NAME: acked=N lost=N duplicated=N gaps=N
# recovered_in_ms=N` as its last line and exits with the verifier's status).
#
# Settings (environment):
#   NAMESPACE   where the Signalink resource runs            (default signalink)
#   INSTANCE    the Signalink resource's name                 (default signalink)
#   BASE_URL    the gateway Service as this machine reaches it (default http://127.0.0.1:8080)
#   K6          the k6 binary, v1.6 or later                   (default k6)
#   KUBECTL     the kubectl binary                             (default kubectl)
#   DURATION    how long the chaos companion sends             (default 3m)
#   RATE, USERS, CHANNELS, MEMBERS   the companion's load      (defaults 20, 20, 10, 4)
#   RECOVERY_TIMEOUT_S  longest wait for recovery              (default 300)
#   KAFKA_CLUSTER, PG_CLUSTER, REDIS_SELECTOR   platform names (signalink-kafka, signalink-pg,
#               app.kubernetes.io/name=valkey: the platform runs Valkey, k8s/platform/valkey)

NAMESPACE="${NAMESPACE:-signalink}"
INSTANCE="${INSTANCE:-signalink}"
BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"
K6="${K6:-k6}"
KUBECTL="${KUBECTL:-kubectl}"
DURATION="${DURATION:-3m}"
RATE="${RATE:-20}"
USERS="${USERS:-20}"
CHANNELS="${CHANNELS:-10}"
MEMBERS="${MEMBERS:-4}"
RECOVERY_TIMEOUT_S="${RECOVERY_TIMEOUT_S:-300}"
KAFKA_CLUSTER="${KAFKA_CLUSTER:-signalink-kafka}"
PG_CLUSTER="${PG_CLUSTER:-signalink-pg}"
REDIS_SELECTOR="${REDIS_SELECTOR:-app.kubernetes.io/name=valkey}"
GATEWAY_SELECTOR="app.kubernetes.io/instance=${INSTANCE},app.kubernetes.io/component=gateway"
GATEWAY_DEPLOYMENT="${GATEWAY_DEPLOYMENT:-${INSTANCE}-gateway}"

CHAOS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHAOS_NAME=""
CHAOS_DIR=""
CHAOS_LEDGER=""
CHAOS_LOAD_PID=""
CHAOS_FAULT_MS=""
CHAOS_RECOVERED_MS=""
CHAOS_CLEANUP=()

chaos_log() { printf '[%s] %s\n' "${CHAOS_NAME:-chaos}" "$*" >&2; }
chaos_die() {
  chaos_log "FAIL: $*"
  exit 2
}
chaos_now_ms() { date +%s%3N; }

kc() { "$KUBECTL" --namespace "$NAMESPACE" "$@"; }

# Runs on exit: cleanups registered by the experiment (undo a partition, uncordon a node), then
# stops the load if it is still running.
chaos_on_exit() {
  local i
  for ((i = ${#CHAOS_CLEANUP[@]} - 1; i >= 0; i--)); do
    chaos_log "cleanup: ${CHAOS_CLEANUP[i]}"
    eval "${CHAOS_CLEANUP[i]}" || chaos_log "cleanup failed: ${CHAOS_CLEANUP[i]}"
  done
  if [ -n "$CHAOS_LOAD_PID" ] && kill -0 "$CHAOS_LOAD_PID" 2>/dev/null; then
    kill "$CHAOS_LOAD_PID" 2>/dev/null || true
  fi
}

chaos_on_cleanup() { CHAOS_CLEANUP+=("$1"); }

# chaos_begin NAME: checks the tools and the cluster every experiment needs.
chaos_begin() {
  CHAOS_NAME="$1"
  CHAOS_DIR="$CHAOS_ROOT/.cache/chaos/k8s/$CHAOS_NAME-$(date +%Y%m%dT%H%M%S)"
  CHAOS_LEDGER="$CHAOS_DIR/ledger.log"
  mkdir -p "$CHAOS_DIR"
  trap chaos_on_exit EXIT
  command -v "$KUBECTL" >/dev/null || chaos_die "kubectl not found (KUBECTL=$KUBECTL)"
  command -v "$K6" >/dev/null || chaos_die "k6 not found (K6=$K6); install k6 v1.6 or later"
  command -v node >/dev/null || chaos_die "node not found"
  [ -f "$CHAOS_ROOT/dist/main.js" ] || chaos_die "dist/main.js missing: run npm run build (the verifier)"
  [ -f "$CHAOS_ROOT/.cache/loadtest/loadtest/chaos/probe-cli.js" ] ||
    chaos_die "the recovery probe is not compiled: npx tsc -p loadtest/chaos/tsconfig.json"
  kc get "signalinks.signalink.io/$INSTANCE" >/dev/null ||
    chaos_die "no Signalink $INSTANCE in namespace $NAMESPACE (make up)"
  kc rollout status "deployment/$GATEWAY_DEPLOYMENT" --timeout=120s >/dev/null ||
    chaos_die "deployment/$GATEWAY_DEPLOYMENT is not rolled out"
  chaos_probe_once || chaos_die "no message round trip through $BASE_URL before the fault"
  chaos_log "preconditions hold; work files in $CHAOS_DIR"
}

# chaos_require_pods SELECTOR MIN: at least MIN Ready pods match.
chaos_require_pods() {
  local n
  n=$(kc get pods -l "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
  [ "$n" -ge "$2" ] || chaos_die "need $2 Ready pod(s) matching $1, found $n"
}

# The gateway pod with the most connections is the interesting one to break, but reading that
# needs a scrape; the first Ready one is as good for a verdict on loss.
chaos_gateway_pod() {
  kc get pods -l "$GATEWAY_SELECTOR" --field-selector=status.phase=Running \
    -o jsonpath='{.items[0].metadata.name}'
}

chaos_start_load() {
  rm -f "$CHAOS_LEDGER"
  chaos_log "starting the chaos companion: $USERS users, $CHANNELS channels of $MEMBERS, $RATE msg/s for $DURATION"
  "$K6" run --log-format=raw --console-output="$CHAOS_LEDGER" \
    -e BASE_URL="$BASE_URL" -e DURATION="$DURATION" -e RATE="$RATE" -e USERS="$USERS" \
    -e CHANNELS="$CHANNELS" -e MEMBERS="$MEMBERS" \
    -e SUMMARY_JSON="$CHAOS_DIR/k6-summary.json" \
    "$CHAOS_ROOT/loadtest/k6/chaos-companion.js" >"$CHAOS_DIR/k6-output.txt" 2>&1 &
  CHAOS_LOAD_PID=$!
}

# chaos_wait_for_acks N: the load is running and N sends were acked before the fault.
chaos_wait_for_acks() {
  local want="$1" deadline=$(($(date +%s) + 180)) have
  while :; do
    have=$(grep -c '"kind":"ack"' "$CHAOS_LEDGER" 2>/dev/null || true)
    [ "${have:-0}" -ge "$want" ] && break
    kill -0 "$CHAOS_LOAD_PID" 2>/dev/null || chaos_die "the load stopped early: $(tail -5 "$CHAOS_DIR/k6-output.txt")"
    [ "$(date +%s)" -lt "$deadline" ] || chaos_die "fewer than $want sends acked within 180 s"
    sleep 1
  done
  chaos_log "load running ($have acked)"
}

chaos_mark_fault() {
  CHAOS_FAULT_MS=$(chaos_now_ms)
  chaos_log "fault: $*"
}

# One round trip through BASE_URL (a probe account of its own, not the load's).
chaos_probe_once() {
  node "$CHAOS_ROOT/.cache/loadtest/loadtest/chaos/probe-cli.js" --url "$BASE_URL" \
    --timeout-ms 60000 >/dev/null
}

# chaos_wait_recovered DESCRIPTION [COMMAND ...]: waits until COMMAND succeeds (if given) and a
# message sent through BASE_URL is delivered live; the time from the fault to then is the
# recovery time.
chaos_wait_recovered() {
  local what="$1" deadline
  shift
  deadline=$(($(date +%s) + RECOVERY_TIMEOUT_S))
  if [ $# -gt 0 ]; then
    until "$@"; do
      [ "$(date +%s)" -lt "$deadline" ] || chaos_die "not recovered within ${RECOVERY_TIMEOUT_S} s: $what"
      sleep 1
    done
  fi
  local left=$((deadline - $(date +%s)))
  [ "$left" -gt 0 ] || chaos_die "not recovered within ${RECOVERY_TIMEOUT_S} s: $what"
  CHAOS_RECOVERED_MS=$(node "$CHAOS_ROOT/.cache/loadtest/loadtest/chaos/probe-cli.js" \
    --url "$BASE_URL" --from-ms "$CHAOS_FAULT_MS" --timeout-ms "$((left * 1000))") ||
    chaos_die "no message delivered within ${RECOVERY_TIMEOUT_S} s of the fault"
  chaos_log "recovered after ${CHAOS_RECOVERED_MS} ms: $what"
}

# All gateway pods of the Deployment are Ready (and as many as it wants).
chaos_gateways_ready() {
  local want ready
  want=$(kc get "deployment/$GATEWAY_DEPLOYMENT" -o jsonpath='{.spec.replicas}')
  ready=$(kc get "deployment/$GATEWAY_DEPLOYMENT" -o jsonpath='{.status.readyReplicas}')
  [ "${ready:-0}" -ge "${want:-1}" ]
}

# Waits for the load to end, runs the verifier and exits with its verdict.
chaos_finish() {
  chaos_log "waiting for the load to finish (its final catch-up included)"
  local k6_status=0
  wait "$CHAOS_LOAD_PID" || k6_status=$?
  CHAOS_LOAD_PID=""
  [ "$k6_status" -eq 0 ] || chaos_log "k6 exited $k6_status (thresholds crossed): see $CHAOS_DIR/k6-output.txt"
  local status=0
  node "$CHAOS_ROOT/dist/main.js" verify --ledger "$CHAOS_LEDGER" --base-url "$BASE_URL" \
    --password signalink-load-test --report "$CHAOS_DIR/verify-report.json" \
    --name "$CHAOS_NAME" --recovered-in-ms "${CHAOS_RECOVERED_MS:-0}" >"$CHAOS_DIR/verify.txt" || status=$?
  grep -v '^chaos ' "$CHAOS_DIR/verify.txt" >&2 || true
  tail -n 1 "$CHAOS_DIR/verify.txt"
  exit "$status"
}
