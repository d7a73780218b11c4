#!/usr/bin/env bash
# Scale-out under load: one more gateway replica (through the Signalink resource, as the operator owns the Deployment); the old pods shed their excess (server.draining, reason rebalance) until every pod is within the rebalancing band. Needs enough connections to matter against GATEWAY_REBALANCE_MIN_EXCESS (default 10): USERS defaults to 60 here (registrations per hour per IP must allow it).
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

USERS="${USERS_SCALE_OUT:-60}"
chaos_begin gateway-scale-out
autoscaling=$(kc get "signalinks.signalink.io/$INSTANCE" -o jsonpath='{.spec.gateway.autoscaling.enabled}')
[ "$autoscaling" != true ] || chaos_die "gateway autoscaling is on: the autoscaler owns the replica count"
before=$(kc get "deployment/$GATEWAY_DEPLOYMENT" -o jsonpath='{.spec.replicas}')
chaos_start_load
chaos_wait_for_acks 50

chaos_on_cleanup "kc patch signalinks.signalink.io/$INSTANCE --type merge -p '{\"spec\":{\"gateway\":{\"replicas\":$before}}}' >/dev/null"
chaos_mark_fault "gateway replicas $before -> $((before + 1))"
kc patch "signalinks.signalink.io/$INSTANCE" --type merge \
  -p "{\"spec\":{\"gateway\":{\"replicas\":$((before + 1))}}}" >/dev/null

# Every gateway pod's signalink_gateway_connections, through the API server's pod proxy.
# shellcheck disable=SC2317 # called through chaos_wait_recovered
# shellcheck disable=SC2317 # called through chaos_wait_recovered
connections() {
  local pod
  for pod in $(kc get pods -l "$GATEWAY_SELECTOR" --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}'); do
    "$KUBECTL" get --raw "/api/v1/namespaces/$NAMESPACE/pods/$pod:3000/proxy/metrics" 2>/dev/null |
      awk '$1 == "signalink_gateway_connections" { print int($2) }'
  done
}
# The gateways' own rule: no pod is at least MIN_EXCESS over the average while being over
# TOLERANCE x average or while another pod is under average / TOLERANCE.
# shellcheck disable=SC2317 # called through chaos_wait_recovered
# shellcheck disable=SC2317 # called through chaos_wait_recovered
balanced() {
  local counts
  chaos_gateways_ready || return 1
  counts=$(connections | tr '\n' ' ')
  chaos_log "connections per gateway: $counts"
  [ "$(wc -w <<<"$counts")" -ge $((before + 1)) ] || return 1
  awk -v min_excess="${MIN_EXCESS:-10}" -v tol="${TOLERANCE:-1.2}" '{
    n = NF; sum = 0; lo = -1
    for (i = 1; i <= n; i++) { sum += $i; if (lo < 0 || $i < lo) lo = $i }
    avg = sum / n
    for (i = 1; i <= n; i++)
      if ($i - avg >= min_excess && ($i > tol * avg || lo < avg / tol)) exit 1
  }' <<<"$counts"
}
chaos_wait_recovered "the new pod Ready and connections balanced" balanced
chaos_finish
