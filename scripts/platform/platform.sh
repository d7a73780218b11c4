#!/usr/bin/env bash
# Installs what Signalink runs beside, in dependency order, or only the components named:
#   scripts/platform/platform.sh [metrics-server monitoring keda gateway strimzi kafka postgres valkey mailpit]
# Idempotent: helm upgrade --install and server-side apply; each step waits for readiness.
source "$(dirname "$0")/lib.sh"
need kubectl helm
require_cluster

metrics_server() {
  release metrics-server metrics-server kube-system \
    --repo "$METRICS_SERVER_CHART_REPO" --version "$METRICS_SERVER_CHART_VERSION" \
    -f "$PLATFORM_DIR/metrics-server/values.yaml"
}

monitoring() {
  if ! k -n monitoring get secret grafana-admin >/dev/null 2>&1; then
    log "creating the Grafana admin password (Secret monitoring/grafana-admin)"
    k -n monitoring create secret generic grafana-admin --from-literal=admin-user=admin \
      --from-literal=admin-password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  fi
  release kube-prometheus-stack kube-prometheus-stack monitoring \
    --repo "$KUBE_PROMETHEUS_STACK_REPO" --version "$KUBE_PROMETHEUS_STACK_VERSION" \
    -f "$PLATFORM_DIR/monitoring/kube-prometheus-stack.yaml"
}

keda() {
  release keda keda keda --repo "$KEDA_CHART_REPO" --version "$KEDA_VERSION" \
    -f "$PLATFORM_DIR/keda/values.yaml"
}

gateway() {
  release eg "$ENVOY_GATEWAY_CHART" envoy-gateway-system --version "$ENVOY_GATEWAY_VERSION" \
    -f "$PLATFORM_DIR/envoy-gateway/values.yaml"
  wait_for -n envoy-gateway-system --for=condition=Available deployment/envoy-gateway
  apply "$PLATFORM_DIR/envoy-gateway/gateway.yaml"
  wait_for -n envoy-gateway-system --for=condition=Programmed gateway/signalink
}

strimzi() {
  release strimzi "$STRIMZI_CHART" strimzi --version "$STRIMZI_VERSION" \
    -f "$PLATFORM_DIR/strimzi/values.yaml"
}

kafka() {
  apply "$PLATFORM_DIR/strimzi/kafka.yaml"
  wait_for -n "$NAMESPACE" --for=condition=Ready kafka/signalink-kafka
}

postgres() {
  release cnpg cloudnative-pg cnpg-system --repo "$CNPG_CHART_REPO" --version "$CNPG_CHART_VERSION" \
    -f "$PLATFORM_DIR/cloudnative-pg/values.yaml"
  apply "$PLATFORM_DIR/cloudnative-pg/cluster.yaml"
  wait_for -n "$NAMESPACE" --for=condition=Ready cluster/signalink-pg
}

valkey() {
  if ! k -n "$NAMESPACE" get secret valkey-auth >/dev/null 2>&1; then
    log "creating the Valkey password and Signalink's REDIS_URL (Secrets valkey-auth, signalink-redis)"
    local password
    password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    k -n "$NAMESPACE" create secret generic valkey-auth --from-literal=password="$password"
    k -n "$NAMESPACE" create secret generic signalink-redis \
      --from-literal=url="redis://:$password@valkey.$NAMESPACE.svc:6379/0"
  fi
  apply "$PLATFORM_DIR/valkey/valkey.yaml"
  k -n "$NAMESPACE" rollout status statefulset/valkey --timeout "$WAIT_TIMEOUT"
}

mailpit() {
  apply "$PLATFORM_DIR/mailpit/mailpit.yaml"
  k -n "$NAMESPACE" rollout status deployment/mailpit --timeout "$WAIT_TIMEOUT"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(metrics-server monitoring keda gateway strimzi kafka postgres valkey mailpit)
for c in "${components[@]}"; do
  case "$c" in
    metrics-server) metrics_server ;;
    monitoring) monitoring ;;
    keda) keda ;;
    gateway) gateway ;;
    strimzi) strimzi ;;
    kafka) kafka ;;
    postgres) postgres ;;
    valkey) valkey ;;
    mailpit) mailpit ;;
    *) die "unknown component $c" ;;
  esac
done
log "platform ready: ${components[*]}"
