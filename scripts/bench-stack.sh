#!/usr/bin/env bash
# Measures the stack as `apiary up` runs it: time to ready, memory (RSS) per process idle and
# under load, and gateway throughput/latency with wrk. Prints a Markdown table for the README.
#
#   scripts/bench-stack.sh            # telemetry on (OTLP to the manifest's endpoint)
#   OTEL_SDK_DISABLED=true scripts/bench-stack.sh   # the A/B run without export
#   UP_ARGS=--separate-binaries scripts/bench-stack.sh   # each service from its own binary
#   SETTLE=40 scripts/bench-stack.sh   # measure "idle" 40 s after ready (background load on)
#
# Memory is reported as RSS (each process's resident pages, shared ones counted in every
# process) and PSS (shared pages divided among the processes that share them: what the stack
# really costs the machine).
#
# Loopback only; every load run is bounded by wrk's --duration.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
ensure_apt wrk
cargo build --release --locked --workspace --bins >/dev/null

out=$(mktemp -d)
start_ns=$(date +%s%N)
# shellcheck disable=SC2086 # UP_ARGS is a list of flags
NO_COLOR=1 target/release/apiary up ${UP_ARGS:-} >"$out/up.log" 2>&1 &
launcher=$!
trap 'kill -TERM $launcher 2>/dev/null; wait $launcher 2>/dev/null || true; rm -rf "$out"' EXIT
wait_for_stack "$out/up.log"
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))

rss_total() {  # KiB across the launcher and its children
  local total=0
  for pid in $launcher $(pgrep -P "$launcher"); do
    total=$(( total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
pss_total() {  # KiB across the launcher and its children
  local total=0
  for pid in $launcher $(pgrep -P "$launcher"); do
    total=$(( total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
processes=$(( 1 + $(pgrep -c -P "$launcher") ))
sleep "${SETTLE:-1}"
idle_kib=$(rss_total)
idle_pss=$(pss_total)

run_wrk() {  # path -> "rps p50 p99"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:8000$1" >"$out/wrk.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$out/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out/wrk.txt")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}
read -r rps_item p50_item p99_item bad_item < <(run_wrk /api/products/BK-0001)
read -r rps_list p50_list p99_list bad_list < <(run_wrk "/api/products?category=books&limit=20")
loaded_kib=$(rss_total)
loaded_pss=$(pss_total)

cat <<TABLE
machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); OTEL_SDK_DISABLED=${OTEL_SDK_DISABLED:-false}; apiary up ${UP_ARGS:-}; ${processes} processes
| measure | value |
|---|---|
| \`apiary up\` to every service ready | ${ready_ms} ms |
| memory, whole stack ${SETTLE:-1} s after ready (PSS / RSS) | $(( idle_pss / 1024 )) / $(( idle_kib / 1024 )) MiB |
| memory, whole stack after load (PSS / RSS) | $(( loaded_pss / 1024 )) / $(( loaded_kib / 1024 )) MiB |
| gateway \`GET /api/products/{id}\` (wrk, ${CONNECTIONS} conns, ${DURATION}) | ${rps_item} req/s, p50 ${p50_item}, p99 ${p99_item}, non-2xx ${bad_item} |
| gateway \`GET /api/products?category=books\` | ${rps_list} req/s, p50 ${p50_list}, p99 ${p99_list}, non-2xx ${bad_list} |
TABLE
