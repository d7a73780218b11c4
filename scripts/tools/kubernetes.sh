#!/usr/bin/env bash
# A real Kubernetes control plane for the operator and chart tests: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (marks pods on fake nodes Running), built
# from the Go module proxy with the machine's Go (1.26). No kubelet: no container ever runs.
#
# k8s.io/kubernetes is not meant to be consumed as a module: its go.mod requires every
# k8s.io/* staging module at v0.0.0 and points them at ./staging with replace directives, which
# only apply inside its own repository. So a generated wrapper module requires it and replaces
# each staging module with the version published alongside the release (v0.<minor>.<patch>).
# etcd's server module and kwok get wrappers of their own: their dependency versions differ
# from Kubernetes', and one build list would change what each of them was released with.
#
# Module and build caches live under $SIGNALINK_TOOLS/go so a rebuild (another version, or an
# interrupted build) downloads and compiles only what is missing.
set -euo pipefail
source "$(dirname "$0")/cache-dir.sh"

K8S_VERSION=1.35.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

DEST="$SIGNALINK_TOOLS/kubernetes-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
log() { printf '[kubernetes.sh] %s\n' "$*" >&2; }

complete() {
  for b in "${BINARIES[@]}"; do [ -x "$DEST/bin/$b" ] || return 1; done
  [ -s "$DEST/kwok-stages.yaml" ]
}
if complete; then
  echo "$DEST"
  exit 0
fi

# One build at a time per cache (parallel test workers may all ask on first use).
exec 9>"$SIGNALINK_TOOLS/.kubernetes.lock"
flock 9
if complete; then
  echo "$DEST"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed (1.26); none on PATH"; exit 1; }
export GOMODCACHE="$SIGNALINK_TOOLS/go/mod"
export GOCACHE="$SIGNALINK_TOOLS/go/build"
# -modcacherw: the module cache can be deleted with rm -rf like the rest of $SIGNALINK_TOOLS.
export GOFLAGS="-mod=mod -modcacherw"
export CGO_ENABLED=0
# Build with the installed Go; never fetch another toolchain because of a go.mod line.
export GOTOOLCHAIN=local

# Leftovers of a build that was killed (holding the lock, no other build is running).
rm -rf "$SIGNALINK_TOOLS"/.kubernetes-build.*
WORK="$(mktemp -d "$SIGNALINK_TOOLS/.kubernetes-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/out/bin"
started=$SECONDS

# wrapper DIR GO_VERSION REQUIRE_MODULE REQUIRE_VERSION [REPLACE_LINES]: a throw-away main
# module; its go.sum is generated here and never leaves $WORK.
wrapper() {
  mkdir -p "$1"
  {
    printf 'module signalink.invalid/%s\n\ngo %s\n\nrequire %s %s\n' "$(basename "$1")" "$2" "$3" "$4"
    if [ -n "${5:-}" ]; then printf '\nreplace (\n%s)\n' "$5"; fi
  } >"$1/go.mod"
}

# The release's own go.mod says which staging modules exist and which Go it expects.
k8s_mod="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
k8s_info="${k8s_mod%.mod}.info"
[ -s "$k8s_mod" ] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
k8s_go="$(awk '$1 == "go" { print $2; exit }' "$k8s_mod")"
staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$k8s_mod")"
[ -n "$staging" ] || { log "no staging modules found in $k8s_mod"; exit 1; }
replaces=""
for m in $staging; do replaces+="	$m => $m v0.${K8S_VERSION#1.}"$'\n'; done
wrapper "$WORK/kubernetes" "$k8s_go" k8s.io/kubernetes "v$K8S_VERSION" "$replaces"

# What hack/lib/version.sh would stamp, so /version and `kubectl version` report the release.
commit="$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$k8s_info")"
build_date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$k8s_info")"
minor="${K8S_VERSION#1.}"
minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

log "building kube-apiserver, kube-controller-manager, kube-scheduler v$K8S_VERSION (cold: tens of minutes on 2 cores)"
(cd "$WORK/kubernetes" && go build -trimpath -ldflags "$ldflags" -o "$WORK/out/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler)
log "kubernetes done after $((SECONDS - started)) s"

etcd_mod="$(cd "$WORK" && go mod download -json "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
wrapper "$WORK/etcd" "$(awk '$1 == "go" { print $2; exit }' "$etcd_mod")" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
log "building etcd v$ETCD_VERSION"
(cd "$WORK/etcd" && go build -trimpath -ldflags "-s -w" -o "$WORK/out/bin/etcd" go.etcd.io/etcd/server/v3)
log "etcd done after $((SECONDS - started)) s"

kwok_mod="$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
wrapper "$WORK/kwok" "$(awk '$1 == "go" { print $2; exit }' "$kwok_mod")" sigs.k8s.io/kwok "v$KWOK_VERSION"
log "building kwok v$KWOK_VERSION"
(cd "$WORK/kwok" && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
  -o "$WORK/out/bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
log "kwok done after $((SECONDS - started)) s"
# kwok acts only through Stages and ships none in the binary: take the release's own "fast"
# set (nodes become Ready, pods Running and Ready, deleted pods go) from its module.
kwok_dir="$(cd "$WORK/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
for f in "$kwok_dir"/kustomize/stage/node/fast/*.yaml "$kwok_dir"/kustomize/stage/pod/fast/*.yaml; do
  case "$f" in */kustomization.yaml) continue ;; esac
  printf -- '---\n' && cat "$f"
done >"$WORK/out/kwok-stages.yaml"
grep -q '^kind: Stage' "$WORK/out/kwok-stages.yaml" || { log "no kwok stages found in $kwok_dir"; exit 1; }

"$WORK/out/bin/kube-apiserver" --version >&2
"$WORK/out/bin/etcd" --version >&2
rm -rf "$DEST"
mv "$WORK/out" "$DEST"
log "built into $DEST in $((SECONDS - started)) s"
echo "$DEST"
