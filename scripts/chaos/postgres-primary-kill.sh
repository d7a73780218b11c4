#!/usr/bin/env bash
# PostgreSQL primary kill (CloudNativePG): the primary pod is force-deleted, a replica is promoted; sends fail (unacked, retried with the same clientMsgId) until the pools reconnect to the new primary. Needs a cluster of at least 2 instances.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin postgres-primary-kill
instances=$(kc get "clusters.postgresql.cnpg.io/$PG_CLUSTER" -o jsonpath='{.spec.instances}')
[ "${instances:-1}" -ge 2 ] || chaos_die "cluster $PG_CLUSTER has ${instances:-?} instance(s): a failover needs 2 or more"
old=$(kc get "clusters.postgresql.cnpg.io/$PG_CLUSTER" -o jsonpath='{.status.currentPrimary}')
[ -n "$old" ] || chaos_die "cluster $PG_CLUSTER reports no current primary"
chaos_start_load
chaos_wait_for_acks 50

chaos_mark_fault "force-deleting PostgreSQL primary $old"
kc delete pod "$old" --grace-period=0 --force --wait=false >/dev/null 2>&1

# shellcheck disable=SC2317 # called through chaos_wait_recovered
failed_over() {
  local now
  now=$(kc get "clusters.postgresql.cnpg.io/$PG_CLUSTER" -o jsonpath='{.status.currentPrimary}')
  [ -n "$now" ] && [ "$now" != "$old" ] &&
    kc wait "clusters.postgresql.cnpg.io/$PG_CLUSTER" --for=condition=Ready --timeout=5s >/dev/null 2>&1 &&
    chaos_gateways_ready
}
chaos_wait_recovered "a new primary promoted, the cluster Ready, a message delivered live" failed_over
chaos_finish
