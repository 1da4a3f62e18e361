#!/usr/bin/env bash
# Run every check and test: formatting, lints, unit, API (port 0 + wiremock) and end-to-end
# (real processes) tests. This is exactly what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust_tools
log "formatting"
cargo fmt --all -- --check
log "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings
log "building the service binaries the end-to-end tests start"
cargo build --locked --workspace --bins
log "tests"
cargo test --locked --workspace
