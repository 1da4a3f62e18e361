#!/usr/bin/env bash
# Benchmarks of the load generator (the numbers in load/README.md). Not a test: it measures.
#
#  (a) throughput: requests/s of apiary-load pinned to one core against a static local
#      endpoint, beside wrk pinned to the same core, in the same run, against the same server
#      (pinned to another core);
#  (b) accuracy: against a server that stalls 100 ms every second, the p99 apiary-load reports
#      beside the true p99 (the server's own hold times, and the analytic value) and beside
#      what closed-loop wrk reports.
#
# Usage: scripts/bench-load.sh            (BENCH_SECONDS=10, ROUNDS=3 by default; PORT=9199)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_apt wrk
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v python3 >/dev/null || die "python3 is needed to read the JSON results"

SECONDS_EACH="${BENCH_SECONDS:-10}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-9199}"
URL="http://127.0.0.1:${PORT}"
CPUS="$(nproc)"
GEN_CPU=0
SRV_CPU=$(( CPUS > 1 ? 1 : 0 ))
[ "$CPUS" -gt 1 ] || log "only one CPU: generator and server share it (numbers will be lower)"

log "building apiary-load (release)"
flock /tmp/apiary-cargo.lock cargo build --release -p apiary-load
BIN="target/release/apiary-load"
OUT="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT

start_server() { # [stall args...]
  [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  taskset -c "$SRV_CPU" "$BIN" bench-server --listen "127.0.0.1:${PORT}" --threads 1 "$@" 2>"$OUT/server.log" &
  SERVER_PID=$!
  for _ in $(seq 50); do curl -sf "$URL/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "bench-server did not start: $(cat "$OUT/server.log")"
}

json() { # file python-expression-on-d
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# wrk prints latencies as 1.23ms / 456.78us / 1.02s; convert the 99% line to ms.
wrk_p99_ms() {
  awk '$1 == "99%" { v=$2; u=v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
         if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v }' "$1"
}

load() { # name extra-args...
  local name=$1; shift
  OTEL_SDK_DISABLED=true taskset -c "$GEN_CPU" "$BIN" --target "$URL" \
    --profile load/profiles/static.toml --duration "${SECONDS_EACH}s" --control off --quiet \
    --no-trace --threads 1 --output "$OUT/$name.json" "$@" >"$OUT/$name.txt"
}

echo
log "(a) throughput on one core: ${ROUNDS} alternating rounds of ${SECONDS_EACH}s each, server on CPU ${SRV_CPU}, clients on CPU ${GEN_CPU}"
start_server
# wrk and apiary-load alternate (ROUNDS pairs, order flipped every round) so the machine's
# noise hits both; the medians are compared.
WRK_ALL=(); OURS_ALL=()
for round in $(seq "$ROUNDS"); do
  for who in $( [ $((round % 2)) -eq 1 ] && echo "wrk ours" || echo "ours wrk"); do
    if [ "$who" = wrk ]; then
      taskset -c "$GEN_CPU" wrk -t1 -c64 -d"${SECONDS_EACH}s" "$URL/" >"$OUT/wrk.txt"
      WRK_ALL+=("$(wrk_rps "$OUT/wrk.txt")")
    else
      # Saturation: offer far more than one core can send, 64 journeys (= connections) at a time.
      load saturate --rate 200000 --max-in-flight 64
      OURS_ALL+=("$(json "$OUT/saturate.json" "round(d['results']['achieved_request_rate'])")")
    fi
  done
  log "round $round: wrk ${WRK_ALL[-1]}, apiary-load ${OURS_ALL[-1]} requests/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
WRK_RPS="$(median "${WRK_ALL[@]}")"
OURS_RPS="$(median "${OURS_ALL[@]}")"
# Held: an offered 50,000 journeys/s — does one core keep the schedule?
load held --rate 50000 --max-in-flight 256
HELD_RPS="$(json "$OUT/held.json" "round(d['results']['achieved_request_rate'])")"
HELD_NOT="$(json "$OUT/held.json" "d['results']['journeys_not_started']")"
HELD_P99="$(json "$OUT/held.json" "d['results']['latency_ms']['p99']")"
RATIO="$(python3 -c "print(f'{$OURS_RPS / $WRK_RPS:.2f}')")"

echo
log "(b) accuracy: the server stalls 100 ms every second; ${SECONDS_EACH}s each at 1,000 requests/s"
start_server --stall-every 1s --stall-for 100ms
load stall --rate 1000 --max-in-flight 2000
curl -sf "$URL/__stats" >"$OUT/server-stats.json"
OURS_P99="$(json "$OUT/stall.json" "d['results']['latency_ms']['p99']")"
OURS_P50="$(json "$OUT/stall.json" "d['results']['latency_ms']['p50']")"
OURS_SVC_P99="$(json "$OUT/stall.json" "d['results']['service_time_ms']['p99']")"
TRUE_P99="$(json "$OUT/server-stats.json" "d['held_ms']['p99']")"
EXPECTED_P99="$(json "$OUT/server-stats.json" "d['expected_ms']['p99']")"
start_server --stall-every 1s --stall-for 100ms
load closed --closed-loop 10 --max-in-flight 10
CLOSED_P99="$(json "$OUT/closed.json" "d['results']['latency_ms']['p99']")"
CLOSED_RPS="$(json "$OUT/closed.json" "round(d['results']['achieved_request_rate'])")"
start_server --stall-every 1s --stall-for 100ms
taskset -c "$GEN_CPU" wrk -t1 -c10 -d"${SECONDS_EACH}s" --latency "$URL/" >"$OUT/wrk-stall.txt"
WRK_STALL_P99="$(wrk_p99_ms "$OUT/wrk-stall.txt")"
WRK_STALL_RPS="$(wrk_rps "$OUT/wrk-stall.txt")"

echo
echo "| measurement | value |"
echo "|---|---|"
echo "| wrk -t1 -c64, 1 core (median of ${ROUNDS}: ${WRK_ALL[*]}) | ${WRK_RPS} requests/s |"
echo "| apiary-load, 1 core, saturated, 64 in flight (median of ${ROUNDS}: ${OURS_ALL[*]}) | ${OURS_RPS} requests/s (${RATIO}x wrk) |"
echo "| apiary-load, 1 core, offered 50,000/s | ${HELD_RPS} requests/s achieved, ${HELD_NOT} journeys not started, p99 ${HELD_P99} ms |"
echo "| stalling server: true p99 (server hold times / analytic) | ${TRUE_P99} ms / ${EXPECTED_P99} ms |"
echo "| stalling server: apiary-load p99 (corrected, open model) | ${OURS_P99} ms (p50 ${OURS_P50} ms; uncorrected service time p99 ${OURS_SVC_P99} ms) |"
echo "| stalling server: apiary-load --closed-loop 10 p99 (uncorrected) | ${CLOSED_P99} ms at ${CLOSED_RPS} requests/s |"
echo "| stalling server: wrk -c10 p99 (closed loop, wrk's own after-the-fact correction) | ${WRK_STALL_P99} ms at ${WRK_STALL_RPS} requests/s |"
