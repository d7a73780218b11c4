#!/usr/bin/env bash
# Gateway pod SIGKILL (kubectl delete --grace-period=0 --force) under load: clients reconnect through the Service to the other gateways and catch up; the Deployment replaces the pod.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin gateway-pod-kill
chaos_require_pods "$GATEWAY_SELECTOR" 2
chaos_start_load
chaos_wait_for_acks 50

victim=$(chaos_gateway_pod)
chaos_mark_fault "force-deleting gateway pod $victim"
kc delete pod "$victim" --grace-period=0 --force --wait=false >/dev/null 2>&1

# shellcheck disable=SC2317 # called through chaos_wait_recovered
replaced() { ! kc get pod "$victim" >/dev/null 2>&1 && chaos_gateways_ready; }
chaos_wait_recovered "$victim replaced, every gateway Ready, a message delivered live" replaced
chaos_finish
