#!/usr/bin/env bash
# Build everything the stack needs (release, and the dashboard UI's wasm bundle) and run it:
# `apiary up`, until Ctrl-C; the dashboard is then on http://localhost:8080.
# Extra arguments go to `apiary up` (e.g. --only gateway).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust_tools
ensure_ui_tools
ensure_broker
build_stack
exec target/release/apiary up "$@"
