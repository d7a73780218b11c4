#!/usr/bin/env bash
# Gateway rolling restart under load: each old pod drains (server.draining, then closes its sockets) while a new one takes its place (maxUnavailable 0).
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin gateway-rolling-restart
chaos_require_pods "$GATEWAY_SELECTOR" 2
chaos_start_load
chaos_wait_for_acks 50

chaos_mark_fault "kubectl rollout restart deployment/$GATEWAY_DEPLOYMENT"
kc rollout restart "deployment/$GATEWAY_DEPLOYMENT" >/dev/null

# shellcheck disable=SC2317 # called through chaos_wait_recovered
rolled() { kc rollout status "deployment/$GATEWAY_DEPLOYMENT" --timeout=5s >/dev/null 2>&1; }
chaos_wait_recovered "the rollout complete, a message delivered live" rolled
chaos_finish
