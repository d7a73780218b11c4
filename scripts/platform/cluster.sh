#!/usr/bin/env bash
# Creates the kind cluster of kind/cluster.yaml with the pinned node image, unless it exists.
source "$(dirname "$0")/lib.sh"
need docker kind kubectl
if cluster_exists; then
  log "kind cluster $CLUSTER_NAME exists"
else
  log "kind create cluster --name $CLUSTER_NAME --image $KIND_NODE_IMAGE --config kind/cluster.yaml"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" \
    --config "$PLATFORM_ROOT/kind/cluster.yaml" --wait 5m
fi
wait_for --for=condition=Ready nodes --all
apply "$PLATFORM_DIR/namespaces.yaml"
