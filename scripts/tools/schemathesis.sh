#!/usr/bin/env bash
# schemathesis (PyPI) in its own virtualenv: the REST API's property-based fuzzer
# (tests/integration/api-schemathesis.test.ts). Prints the virtualenv directory; run it as
# `<dir>/bin/python -m schemathesis.cli run ...` (the venv's console scripts carry the path it was
# built at, which the rename below changes). Needs Python 3.11+ with venv.
set -euo pipefail
VERSION=4.32.5
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cache-dir.sh
source "$here/cache-dir.sh"
dest="$SIGNALINK_TOOLS/schemathesis-$VERSION"
python="${PYTHON:-python3}"

if [ -x "$dest/bin/python" ] &&
  "$dest/bin/python" -m schemathesis.cli --version 2>/dev/null | grep -q "version $VERSION\$"; then
  echo "$dest"
  exit 0
fi

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "schemathesis.sh: $python is $("$python" --version 2>&1); Python 3.11 or newer is needed" >&2
  exit 1
}

# Every distribution pinned: the fuzzer's generated cases depend on hypothesis and the schema
# tooling, so a seeded run only repeats itself with the same versions.
requirements=(
  "schemathesis==$VERSION"
  hypothesis==6.170.17
  hypothesis-graphql==0.13.5
  jsonschema_rs==0.60.3
  anyio==4.16.0
  certifi==2026.10.19.post1
  charset-normalizer==3.5.3
  click==8.5.1
  graphql-core==3.3.2
  harfile==0.6.0
  idna==3.20
  iniconfig==2.3.1
  markdown-it-py==4.3.0
  MarkupSafe==3.0.4
  mdurl==0.1.2
  packaging==26.4
  pluggy==1.7.0
  Pygments==2.21.0
  pyrate-limiter==4.5.1
  pytest==9.2.0
  PyYAML==6.0.4
  requests==2.34.2
  rich==15.0.0
  sortedcontainers==2.4.0
  typing_extensions==4.16.0
  urllib3==2.8.0
  Werkzeug==3.1.9
)

# Built beside its final place (same file system, so the rename is atomic) and renamed only once
# complete.
tmp="$dest.partial.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
"$python" -m venv "$tmp" >&2
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  "${requirements[@]}" >&2
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
