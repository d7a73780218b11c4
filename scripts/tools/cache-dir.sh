# Sourced by the tool scripts: where built tools are kept, outside the clone.
SIGNALINK_TOOLS="${SIGNALINK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/signalink-tools}"
mkdir -p "$SIGNALINK_TOOLS"
export SIGNALINK_TOOLS
