#!/usr/bin/env bash
# make up: kind cluster, platform, image, both charts, then a smoke test. Safe to run again.
source "$(dirname "$0")/lib.sh"
dir="$(dirname "$0")"
started=$SECONDS
bash "$dir/cluster.sh"
bash "$dir/platform.sh"
bash "$dir/image.sh"
bash "$dir/signalink.sh"
bash "$dir/smoke.sh"
log "up in $((SECONDS - started)) s: http://127.0.0.1:8080 (Socket.IO and /api/v1), make status, make down"
