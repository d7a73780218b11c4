#!/usr/bin/env bash
# Redis pod kill: the gateways lose their stream adapter, presence and rate limits until Redis is back; broadcasts that were missed are filled from PostgreSQL.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin redis-pod-kill
chaos_require_pods "$REDIS_SELECTOR" 1
chaos_start_load
chaos_wait_for_acks 50

victim=$(kc get pods -l "$REDIS_SELECTOR" -o jsonpath='{.items[0].metadata.name}')
chaos_mark_fault "force-deleting Redis pod $victim"
kc delete pod "$victim" --grace-period=0 --force --wait=false >/dev/null 2>&1

# shellcheck disable=SC2317 # called through chaos_wait_recovered
back() {
  ! kc get pod "$victim" -o jsonpath='{.metadata.uid}' >/dev/null 2>&1 || return 1
  kc wait pod -l "$REDIS_SELECTOR" --for=condition=Ready --timeout=5s >/dev/null 2>&1 && chaos_gateways_ready
}
chaos_wait_recovered "Redis Ready again, every gateway Ready, a message delivered live" back
chaos_finish
