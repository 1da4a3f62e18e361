#!/usr/bin/env bash
# Build everything the stack needs (release) and run it: `apiary up`, until Ctrl-C.
# Extra arguments go to `apiary up` (e.g. --only gateway).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust_tools
log "building the stack (release; the first build takes a few minutes)"
cargo build --release --locked --workspace --bins
exec target/release/apiary up "$@"
