#!/usr/bin/env bash
# Run every check and test: formatting, lints, unit, API (port 0 + wiremock) and end-to-end
# (real processes) tests. This is exactly what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

log "disk free: $(df -h . | awk 'NR == 2 { print $4 }')"
ensure_rust_tools
ensure_ui_tools
# What the browser tests drive: Debian's Chromium and its WebDriver.
ensure_apt chromium chromium-driver
# What the fault-tolerance suite's contract scenario runs against every service's OpenAPI.
ensure_schemathesis
# The message broker the messaging tests (and `apiary up`) run: Debian's RabbitMQ.
ensure_broker
# promtool for the Prometheus rules' checks and unit tests, Prometheus for the live alert test.
ensure_prometheus
# rotel, the third-party OTLP collector the collector test relays through.
ensure_rotel
# kubectl (kustomize), kubernetes-validate and check-jsonschema for the deployment files' checks.
ensure_k8s_tools
log "formatting"
cargo fmt --all -- --check
log "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings
# The UI's browser half only compiles for wasm; lint it there too.
cargo clippy --locked -p dashboard-ui --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings
log "building the service binaries the end-to-end tests start"
cargo build --locked --workspace --bins
log "fuzzing the OTLP decoders (30 s)"
# cargo-fuzz builds with coverage instrumentation only (-s none): that works on the stable
# toolchain; sanitizers would need nightly.
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
(cd dashboard && cargo fuzz run otlp_decode -s none -- -max_total_time=30 -rss_limit_mb=2048)
# A CI checkout never fuzzes again: give its 2 GB of fuzz build back to the tests' link steps.
if [ "${CI:-}" = true ]; then rm -rf dashboard/fuzz/target; fi
log "building the release binaries the drill tests run (as \`apiary up\` does)"
cargo build --release --locked --workspace --bins
build_ui
log "tests (disk free: $(df -h . | awk 'NR == 2 { print $4 }'))"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
cargo test --locked --workspace 2>&1 | tee "$results"
log "browser tests (headless Chromium against the running stack; screenshots in artifacts/browser/)"
# `--workspace` keeps the features (and so the build) the same as the run above.
cargo test --locked --workspace --test browser -- --ignored --nocapture 2>&1 | tee -a "$results"
log "fault drills (every shipped drill against the release stack with load, compressed time)"
cargo test --locked --workspace --test drills -- --ignored --nocapture 2>&1 | tee -a "$results"
log "Prometheus live (the shipped rules and Grafana queries against the release stack and a payment-outage drill)"
cargo test --locked --workspace --test prometheus_live -- --ignored --nocapture 2>&1 | tee -a "$results"
log "fault-tolerance suite (the release stack under load: each promise measured; table in artifacts/fault-tolerance.md)"
cargo test --locked --workspace --test fault_tolerance -- --ignored --nocapture 2>&1 | tee -a "$results"
# One closing line over every test binary (cargo prints one `test result:` per binary, the
# last usually being an empty doc-test run).
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$results"
