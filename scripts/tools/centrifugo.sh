#!/usr/bin/env bash
# ci: skip (only the benchmarks in loadtest/ use it)
# Centrifugo v6 (github.com/centrifugal/centrifugo, Apache-2.0): a real-time messaging server,
# the benchmark's strongest open peer (loadtest/, docs/benchmarks.md), run with its Redis engine
# and channel history. Built with the Go toolchain from the Go module proxy.
# Prints the directory holding the centrifugo binary.
set -euo pipefail
VERSION=v6.9.1
# shellcheck source=cache-dir.sh
source "$(dirname "$0")/cache-dir.sh"
dest="$SIGNALINK_TOOLS/centrifugo-$VERSION"
if [ -x "$dest/centrifugo" ]; then
  echo "$dest"
  exit 0
fi
command -v go >/dev/null || { echo "centrifugo.sh: the go toolchain is required" >&2; exit 1; }
tmp="$(mktemp -d "$SIGNALINK_TOOLS/.centrifugo-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "centrifugo.sh: building github.com/centrifugal/centrifugo/v6@$VERSION" >&2
GOBIN="$tmp" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go install -trimpath \
  -ldflags "-s -w -X github.com/centrifugal/centrifugo/v6/internal/build.Version=${VERSION#v}" \
  "github.com/centrifugal/centrifugo/v6@$VERSION" >&2
"$tmp/centrifugo" version >&2
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
