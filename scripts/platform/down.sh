#!/usr/bin/env bash
# make down: deletes the kind cluster and everything in it (volumes included).
source "$(dirname "$0")/lib.sh"
need kind
if cluster_exists; then
  log "kind delete cluster --name $CLUSTER_NAME"
  kind delete cluster --name "$CLUSTER_NAME"
else
  log "no kind cluster $CLUSTER_NAME: nothing to do"
fi
