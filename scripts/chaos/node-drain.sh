#!/usr/bin/env bash
# Node drain: the node running a gateway pod is cordoned and drained (PodDisruptionBudgets respected); its pods start elsewhere; the node is uncordoned at the end. Needs at least two schedulable worker nodes.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin node-drain
chaos_require_pods "$GATEWAY_SELECTOR" 2
node=$(kc get pod "$(chaos_gateway_pod)" -o jsonpath='{.spec.nodeName}')
workers=$("$KUBECTL" get nodes -l '!node-role.kubernetes.io/control-plane' -o name | wc -l)
[ "$workers" -ge 2 ] || chaos_die "need 2 or more worker nodes to drain one, found $workers"
chaos_start_load
chaos_wait_for_acks 50

chaos_on_cleanup "$KUBECTL uncordon $node >/dev/null"
chaos_mark_fault "draining node $node"
"$KUBECTL" drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=300s >/dev/null

# shellcheck disable=SC2317 # called through chaos_wait_recovered
moved() {
  [ -z "$(kc get pods -l "$GATEWAY_SELECTOR" --field-selector="spec.nodeName=$node" -o name)" ] &&
    chaos_gateways_ready
}
chaos_wait_recovered "no gateway left on $node, every gateway Ready, a message delivered live" moved
chaos_finish
