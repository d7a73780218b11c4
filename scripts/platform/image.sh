#!/usr/bin/env bash
# Builds the Signalink image for this machine's platform and loads it into the kind nodes.
source "$(dirname "$0")/lib.sh"
need docker kind
require_cluster
log "docker build -t $SIGNALINK_IMAGE ."
docker build -t "$SIGNALINK_IMAGE" "$PLATFORM_ROOT"
log "kind load docker-image $SIGNALINK_IMAGE --name $CLUSTER_NAME"
kind load docker-image "$SIGNALINK_IMAGE" --name "$CLUSTER_NAME"
