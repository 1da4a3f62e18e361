#!/usr/bin/env bash
# How gateway throughput grows with catalog instances on this machine: starts the release stack
# once (no background load), then for each round and each replica count scales catalog live
# (`apiary scale catalog=N`, the same path as the dashboard) and runs wrk against the product
# page (six downstream calls, catalog among them) and the category page (one catalog call).
# Prints every run and a Markdown table of the medians per replica count.
#
#   scripts/bench-scale.sh                 # catalog 1, 2, 3; two rounds; wrk 10 s, 32 conns
#   REPLICAS="1 2 4" ROUNDS=3 scripts/bench-scale.sh
#
# Loopback only; every load run is bounded by wrk's --duration. On a two-core machine every
# process — wrk, the gateway, each catalog, the dashboard — shares the same two cores, so more
# instances cannot add CPU: the figures show what balancing costs and what it buys here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
REPLICAS="${REPLICAS:-1 2 3}"
ROUNDS="${ROUNDS:-2}"
ensure_apt wrk
cargo build --release --locked --workspace --bins >/dev/null

out=$(mktemp -d)
NO_COLOR=1 target/release/apiary up --no-load >"$out/up.log" 2>&1 &
launcher=$!
trap 'kill -TERM $launcher 2>/dev/null; wait $launcher 2>/dev/null || true; rm -rf "$out"' EXIT
wait_for_stack "$out/up.log"

run_wrk() {  # path -> "rps p50 p99 non2xx"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:8000$1" >"$out/wrk.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$out/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out/wrk.txt")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}

echo "round replicas page rps p50 p99 non2xx" >"$out/runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for n in $REPLICAS; do
    target/release/apiary scale "catalog=$n" --reason "bench-scale" >/dev/null
    sleep 3  # callers re-read the endpoints file every second and probe the new instances
    read -r rps p50 p99 bad < <(run_wrk /api/products/BK-0001)
    echo "$round $n product $rps $p50 $p99 $bad" | tee -a "$out/runs.txt"
    read -r rps p50 p99 bad < <(run_wrk "/api/products?category=books&limit=20")
    echo "$round $n category $rps $p50 $p99 $bad" | tee -a "$out/runs.txt"
  done
done
target/release/apiary scale catalog=1 >/dev/null

echo
echo "machine: $(nproc) cores, $(uname -r); wrk -t2 -c${CONNECTIONS} -d${DURATION}; medians of ${ROUNDS} rounds"
echo "| catalog instances | product page req/s | p99 | category page req/s | p99 |"
echo "|---|---|---|---|---|"
for n in $REPLICAS; do
  med() {  # page column -> median
    awk -v n="$n" -v page="$1" -v col="$2" '$2==n && $3==page {print $col}' "$out/runs.txt" |
      sed 's/ms$//; s/us$/e-3/' | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'
  }
  echo "| $n | $(med product 4) | $(med product 6) ms | $(med category 4) | $(med category 6) ms |"
done
