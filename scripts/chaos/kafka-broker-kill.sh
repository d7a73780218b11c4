#!/usr/bin/env bash
# Kafka broker pod kill (Strimzi, replication 3, min.insync.replicas 2): chat goes on (the outbox holds events), the relay and consumers move to the other brokers, Strimzi restarts the pod.
# Settings and what every step does: scripts/chaos/lib.sh; results: docs/chaos.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

chaos_begin kafka-broker-kill
BROKERS="strimzi.io/cluster=$KAFKA_CLUSTER,strimzi.io/broker-role=true"
chaos_require_pods "$BROKERS" 3
chaos_start_load
chaos_wait_for_acks 50

victim=$(kc get pods -l "$BROKERS" -o jsonpath='{.items[0].metadata.name}')
chaos_mark_fault "force-deleting Kafka broker pod $victim"
kc delete pod "$victim" --grace-period=0 --force --wait=false >/dev/null 2>&1

# shellcheck disable=SC2317 # called through chaos_wait_recovered
back() {
  kc wait pod -l "$BROKERS" --for=condition=Ready --timeout=5s >/dev/null 2>&1 &&
    kc wait "kafkas.kafka.strimzi.io/$KAFKA_CLUSTER" --for=condition=Ready --timeout=5s >/dev/null 2>&1
}
chaos_wait_recovered "every broker Ready again, a message delivered live" back
chaos_finish
