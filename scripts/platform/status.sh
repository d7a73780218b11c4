#!/usr/bin/env bash
# make status: what runs, in one screen.
source "$(dirname "$0")/lib.sh"
need kubectl
require_cluster
log "nodes"
k get nodes -o wide
log "signalink/$RELEASE"
k -n "$NAMESPACE" get signalink "$RELEASE" -o wide || true
k -n "$NAMESPACE" get signalink "$RELEASE" -o jsonpath='{range .status.conditions[*]}  {.type}={.status} ({.reason}): {.message}{"\n"}{end}' || true
log "workloads in $NAMESPACE"
k -n "$NAMESPACE" get deploy,statefulset,scaledobject,hpa,kafka,kafkatopic,cluster.postgresql.cnpg.io 2>/dev/null || true
log "operator in $OPERATOR_NAMESPACE"
k -n "$OPERATOR_NAMESPACE" get deploy,lease 2>/dev/null || true
log "pods not Running"
k get pods -A --field-selector=status.phase!=Running,status.phase!=Succeeded 2>/dev/null || true
