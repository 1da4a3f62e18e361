#!/usr/bin/env bash
# What a new user waits for, measured. Not a test: it measures.
#
#  (1) First run: README's first command (`./scripts/up.sh`) in a clean clone of HEAD with an
#      empty target directory, until the stack is running and browsable (every service ready,
#      the shop's home page and the dashboard answering, the dashboard's UI bundle served).
#      FRESH=1 also empties cargo's registry (every crate downloaded again) and the tools
#      directory (wasm-opt fetched from npm again), as on a fresh machine. Debian packages
#      already installed stay installed: their minute is reported by the fresh-machine CI log.
#  (2) Rebuild after a one-line change in one service (a line added to catalog's library),
#      the build `up.sh` runs, timed by hyperfine (3 runs, each after a new change).
#
# Usage: scripts/bench-first-run.sh        (ports 8000-8099 and 8080 must be free: no stack running)
#        FRESH=1 scripts/bench-first-run.sh
#        KEEP=1 scripts/bench-first-run.sh  (keep the clone, print where it is)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_apt hyperfine
curl -s -o /dev/null http://127.0.0.1:8080/ && die "something already answers on :8080 (stop the running stack first)"

work=$(mktemp -d /tmp/apiary-first-run.XXXXXX)
git clone -q "$PWD" "$work/apiary"
up=""
cleanup() {
  [ -n "$up" ] && { kill -TERM "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true; }
  [ -n "${KEEP:-}" ] && { echo "clone kept in $work"; return; }
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${FRESH:-}" ]; then
  export CARGO_HOME="$work/cargo-home" XDG_CACHE_HOME="$work/cache"
  mkdir -p "$CARGO_HOME"
fi
cd "$work/apiary"

# (1) first run
log "first run: ./scripts/up.sh in a clean clone ($work/apiary)"
start=$(date +%s%N)
NO_COLOR=1 ./scripts/up.sh >"$work/up.log" 2>&1 &
up=$!
browsable() {
  grep -q "every service is ready" "$work/up.log" &&
    curl -sf -o /dev/null http://127.0.0.1:8000/ &&
    curl -sf -o /dev/null http://127.0.0.1:8080/ &&
    curl -sf -o /dev/null http://127.0.0.1:8080/pkg/dashboard.wasm
}
until browsable; do
  kill -0 "$up" 2>/dev/null || { tail -n 30 "$work/up.log"; die "up.sh stopped before the stack was browsable"; }
  sleep 1
done
first_s=$(( ($(date +%s%N) - start) / 1000000000 ))
kill -TERM "$up"; wait "$up" 2>/dev/null || true; up=""
echo
echo "up.sh's steps (time since it started):"
grep -a '==> \[' "$work/up.log" | sed 's/\x1b\[[0-9;]*m//g'
grep -a 'Finished\|apiary-ui-build:' "$work/up.log" | sed 's/^ */  /'
echo "first run to a browsable stack: $((first_s / 60)) min $((first_s % 60)) s"

# (2) rebuild after a one-line change in one service
echo
log "rebuild after a one-line change in catalog"
hyperfine --runs 3 --export-json "$work/rebuild.json" \
  --prepare 'echo "pub const REBUILD_PROBE_$(date +%s%N): u32 = 1;" >> services/catalog/src/lib.rs' \
  "cargo build --release --locked --bins ${STACK_PACKAGES[*]}"
git checkout -q services/catalog/src/lib.rs
