# Sourced by scripts/platform/*.sh: pinned versions, logging, tool checks, waits.
# shellcheck shell=bash
set -euo pipefail
PLATFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PLATFORM_DIR="$PLATFORM_ROOT/k8s/platform"
# shellcheck source=../../k8s/platform/versions.env
source "$PLATFORM_DIR/versions.env"
CLUSTER_NAME="${CLUSTER_NAME:-signalink}"
KUBE_CONTEXT="kind-$CLUSTER_NAME"
NAMESPACE="${NAMESPACE:-signalink}"
OPERATOR_NAMESPACE="${OPERATOR_NAMESPACE:-signalink-system}"
RELEASE="${RELEASE:-signalink}"
WAIT_TIMEOUT="${WAIT_TIMEOUT:-600s}"

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (see docs/kubernetes.md, 'What the laptop needs')"
  done
}

# kubectl and helm always against the kind cluster, never whatever context is current.
k() { kubectl --context "$KUBE_CONTEXT" "$@"; }
h() { helm --kube-context "$KUBE_CONTEXT" "$@"; }

# helm upgrade --install, waiting for the release's resources; prints what it does.
release() {
  local name="$1" chart="$2" namespace="$3"
  shift 3
  log "helm upgrade --install $name $chart -n $namespace $*"
  h upgrade --install "$name" "$chart" --namespace "$namespace" --create-namespace \
    --wait --timeout "$WAIT_TIMEOUT" "$@"
}

apply() {
  log "kubectl apply --server-side -f ${1#"$PLATFORM_ROOT"/}"
  k apply --server-side --force-conflicts -f "$1"
}

wait_for() {
  log "kubectl wait $*"
  k wait --timeout "$WAIT_TIMEOUT" "$@"
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; }
require_cluster() {
  need kind kubectl
  cluster_exists || die "no kind cluster $CLUSTER_NAME: run make up"
}
