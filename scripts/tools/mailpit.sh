#!/usr/bin/env bash
# Mailpit (github.com/axllent/mailpit, MIT): a real SMTP server with an HTTP API, used by the
# email notification tests. Built with the Go toolchain from the Go module proxy.
set -euo pipefail
VERSION=v1.33.1
. "$(dirname "$0")/cache-dir.sh"
dest="$SIGNALINK_TOOLS/mailpit-$VERSION"
if [ -x "$dest/mailpit" ]; then
  echo "$dest"
  exit 0
fi
command -v go >/dev/null || { echo "mailpit.sh: the go toolchain is required" >&2; exit 1; }
tmp="$(mktemp -d "$SIGNALINK_TOOLS/.mailpit-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "mailpit.sh: building github.com/axllent/mailpit@$VERSION" >&2
GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=$VERSION" \
  "github.com/axllent/mailpit@$VERSION" >&2
"$tmp/mailpit" version >&2 || true
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
