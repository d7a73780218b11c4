#!/usr/bin/env bash
# The round trip a user would make, twice: in the cluster (helm test: register, two sockets
# through the gateway Service, send, receive, read back), and from this machine through the
# Gateway API route on http://127.0.0.1:8080 when node and a build are here. Ends with the
# Signalink's status.
source "$(dirname "$0")/lib.sh"
need kubectl helm
require_cluster
log "helm test $RELEASE -n $NAMESPACE"
h test "$RELEASE" --namespace "$NAMESPACE" --logs --timeout 5m
if command -v node >/dev/null 2>&1 && [ -f "$PLATFORM_ROOT/dist/main.js" ]; then
  log "node dist/main.js smoke --url http://127.0.0.1:8080 (through Envoy Gateway)"
  node "$PLATFORM_ROOT/dist/main.js" smoke --url http://127.0.0.1:8080 --timeout-ms 120000
fi
log "status of signalink/$RELEASE"
k -n "$NAMESPACE" get signalink "$RELEASE" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\n"}{end}'
k -n "$NAMESPACE" get signalink "$RELEASE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -qx True \
  || die "signalink/$RELEASE is not Ready"
