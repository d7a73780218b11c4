#!/usr/bin/env bash
# Runner for `npm run loadtest -- <scenario|all> [options]` (see loadtest/README.md).
# Raises the open-file limit (one descriptor per socket on each side), builds the server and
# the load generator, runs the orchestrator under an outer time limit, and finally kills by
# pid anything the orchestrator registered and left behind (e.g. if it was itself killed).
set -uo pipefail
cd "$(dirname "$0")/.."

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
# The limit is per process: the gateway in the 10,000-connection idle step needs a bit more.
if [ "$(ulimit -n)" -lt 12000 ]; then
  echo "[loadtest] warning: open-file limit is $(ulimit -n); the 10,000-connection idle step needs ~10,100 per process" >&2
fi

if [ "${LOADTEST_SKIP_BUILD:-0}" != 1 ]; then
  npm run --silent build || { echo "[loadtest] npm run build failed" >&2; exit 1; }
fi
npx tsc -p loadtest/tsconfig.json || { echo "[loadtest] compiling loadtest/ failed" >&2; exit 1; }

PID_FILE=.cache/loadtest/pids
sweep() {
  [ -f "$PID_FILE" ] || return 0
  while read -r pid name; do
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
    # Only what we started: a recycled pid belongs to someone else.
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE 'postgres|redis-server|centrifugo|dist/main\.js|\.cache/loadtest' || continue
    echo "[loadtest] killing leftover $name ($pid)" >&2
    kill -9 "$pid" 2>/dev/null
  done < "$PID_FILE"
  return 0
}
trap sweep EXIT

# The orchestrator has its own overall timeout (90 min full, 15 min small); this is the backstop.
timeout --signal=TERM --kill-after=30s "${LOADTEST_OUTER_TIMEOUT:-100m}" \
  node --experimental-websocket --no-warnings=ExperimentalWarning .cache/loadtest/loadtest/main.js "$@"
