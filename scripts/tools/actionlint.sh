#!/usr/bin/env bash
# actionlint (github.com/rhysd/actionlint, MIT): checks the GitHub Actions workflows in
# .github/workflows (syntax, expressions, runner labels, and each `run:` script with shellcheck
# when shellcheck is on PATH). Built with the Go toolchain from the Go module proxy.
# Prints the directory holding the actionlint binary.
set -euo pipefail
VERSION=v1.7.12
# shellcheck source=cache-dir.sh
source "$(dirname "$0")/cache-dir.sh"
dest="$SIGNALINK_TOOLS/actionlint-$VERSION"
if [ -x "$dest/actionlint" ]; then
  echo "$dest"
  exit 0
fi
command -v go >/dev/null || { echo "actionlint.sh: the go toolchain is required" >&2; exit 1; }
tmp="$(mktemp -d "$SIGNALINK_TOOLS/.actionlint-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "actionlint.sh: building github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
GOBIN="$tmp" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go install -trimpath \
  -ldflags "-s -w -X github.com/rhysd/actionlint.version=$VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
"$tmp/actionlint" -version >&2
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
