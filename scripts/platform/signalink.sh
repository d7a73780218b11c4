#!/usr/bin/env bash
# Installs (or upgrades) both charts with the kind values and waits for the Signalink to be
# Ready. Extra arguments go to the signalink chart (e.g. -f k8s/platform/signalink/load-values.yaml).
source "$(dirname "$0")/lib.sh"
need kubectl helm
require_cluster
release signalink-operator "$PLATFORM_ROOT/charts/signalink-operator" "$OPERATOR_NAMESPACE" \
  -f "$PLATFORM_DIR/signalink/operator-values.yaml"
# Helm installs CRDs only on first install: apply them on every run so upgrades get them too.
apply "$PLATFORM_ROOT/charts/signalink-operator/crds"
release "$RELEASE" "$PLATFORM_ROOT/charts/signalink" "$NAMESPACE" \
  -f "$PLATFORM_DIR/signalink/signalink-values.yaml" "$@"
wait_for -n "$NAMESPACE" --for=condition=Ready "signalink/$RELEASE"
k -n "$NAMESPACE" get signalink "$RELEASE"
