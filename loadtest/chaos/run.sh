#!/usr/bin/env bash
# Runner for `npm run chaos -- local NAME|all|--list` (docs/chaos.md): builds the server and the
# suite, runs it under an outer time limit, and finally kills by pid anything it registered in
# .cache/chaos/pids and left behind (if the suite itself was killed).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

listing=0
for arg in "$@"; do
  case "$arg" in --list | --describe) listing=1 ;; esac
done

if [ "$listing" = 0 ] && [ "${CHAOS_SKIP_BUILD:-0}" != 1 ]; then
  npm run --silent build || { echo "[chaos] npm run build failed" >&2; exit 1; }
fi
if [ "${CHAOS_SKIP_BUILD:-0}" != 1 ] || [ ! -f .cache/loadtest/loadtest/chaos/main.js ]; then
  npx tsc -p loadtest/chaos/tsconfig.json || { echo "[chaos] compiling loadtest/chaos failed" >&2; exit 1; }
fi

# One pid file per invocation, so that two runs at once never sweep each other's processes.
mkdir -p .cache/chaos
PID_FILE=".cache/chaos/pids.$$"
export CHAOS_PID_FILE="$PID_FILE"
sweep() {
  [ -f "$PID_FILE" ] || return 0
  while read -r pid name; do
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then continue; fi
    # Only what the suite started: a recycled pid belongs to someone else.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
      grep -qE 'postgres|redis-server|dist/main\.js|haproxy|kafka\.Kafka|k6-double' || continue
    echo "[chaos] killing leftover $name ($pid)" >&2
    kill -9 "$pid" 2>/dev/null
  done <"$PID_FILE"
  rm -f "$PID_FILE"
  return 0
}
[ "$listing" = 1 ] || trap sweep EXIT

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi

# The suite bounds itself (12 minutes per experiment); this is the backstop.
timeout --signal=TERM --kill-after=30s "${CHAOS_OUTER_TIMEOUT:-120m}" \
  node --no-warnings=ExperimentalWarning .cache/loadtest/loadtest/chaos/main.js "$@"
