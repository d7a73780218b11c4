#!/usr/bin/env bash
# A NetworkPolicy partition of one gateway: its egress (PostgreSQL, Redis, Kafka, DNS) is denied for PARTITION_S seconds (default 30) while its clients stay connected; readiness fails, so the Service sends new clients elsewhere. The operator's policies only restrict ingress, so this deny-all egress policy is the only egress policy on the pod and takes effect (on a CNI that enforces NetworkPolicy). Recovery counts from the start of the partition.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PARTITION_S="${PARTITION_S:-30}"
chaos_begin gateway-partition
chaos_require_pods "$GATEWAY_SELECTOR" 2
victim=$(chaos_gateway_pod)
chaos_start_load
chaos_wait_for_acks 50

chaos_on_cleanup "kc delete networkpolicy signalink-chaos-partition --ignore-not-found >/dev/null"
chaos_on_cleanup "kc label pod $victim chaos.signalink.io/partitioned- >/dev/null 2>&1"
chaos_mark_fault "egress of gateway pod $victim denied for ${PARTITION_S} s"
kc label pod "$victim" chaos.signalink.io/partitioned=true --overwrite >/dev/null
kc apply -f - >/dev/null <<POLICY
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: signalink-chaos-partition
  labels: {app.kubernetes.io/name: signalink-chaos}
spec:
  podSelector:
    matchLabels: {chaos.signalink.io/partitioned: "true"}
  policyTypes: [Egress]
  egress: []
POLICY
sleep "$PARTITION_S"
kc delete networkpolicy signalink-chaos-partition >/dev/null
chaos_log "partition healed"

chaos_wait_recovered "the partition healed, every gateway Ready, a message delivered live" chaos_gateways_ready
chaos_finish
