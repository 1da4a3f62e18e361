#!/usr/bin/env bash
# The telemetry tax, side by side: the whole stack under `apiary up --no-load --no-broker` with full
# telemetry (traces, logs and metrics, OTLP export to the dashboard on the same machine) against
# the same stack with OTEL_SDK_DISABLED=true, alternating on/off runs (the order flips every
# round) so that machine noise hits both sides. Not a test: it measures.
#
# For each run and page it records wrk's requests/s and p99 and the CPU time every process of
# the stack used per request (utime + stime from /proc, wrk excluded): the throughput figures
# say what the tax costs, the CPU split says where it is paid.
#
#   scripts/bench-telemetry.sh                 # 3 rounds, 10 s per page and run, 32 connections
#   ROUNDS=5 DURATION=15 scripts/bench-telemetry.sh
#   NO_BUILD=1 scripts/bench-telemetry.sh      # use the release binaries as they are
#   NO_BUILD=1 BIN_DIR=/elsewhere/release scripts/bench-telemetry.sh
#   UP_ARGS="--no-load" scripts/bench-telemetry.sh   # with the broker too
#
# Loopback only; every load run is bounded by wrk's --duration.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
# No broker by default: RabbitMQ boots (seconds of CPU) during the first measured page and its
# schedulers busy-wait beside the shop; neither page touches it, so it is only noise here.
UP_ARGS="${UP_ARGS:---no-load --no-broker}"
PAGES=("/api/products/BK-0001" "/api/products?category=books&limit=20")
ensure_apt wrk
command -v python3 >/dev/null || die "python3 is needed to summarise the runs"
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked --workspace --bins >/dev/null

out=$(mktemp -d)
launcher=""
stop_stack() {
  [ -n "$launcher" ] || return 0
  kill -TERM "$launcher" 2>/dev/null || true
  wait "$launcher" 2>/dev/null || true
  launcher=""
}
trap 'stop_stack; rm -rf "$out"' EXIT

# "name ticks" for every process of the stack (a service's name is its argv[0]).
cpu_ticks() {
  local pid name
  for pid in $(pgrep -P "$launcher"); do
    name=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || continue
    [ -n "$name" ] || continue
    awk -v n="${name##*/}" '{ print n, $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true
  done
}

run_page() { # mode round path
  local mode=$1 round=$2 path=$3
  cpu_ticks >"$out/before"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:8000$path" >"$out/wrk.txt"
  cpu_ticks >"$out/after"
  python3 - "$mode" "$round" "$path" "$out/wrk.txt" "$out/before" "$out/after" >>"$out/runs.jsonl" <<'PY'
import json, re, sys
mode, rnd, path, wrk, before, after = sys.argv[1:]
text = open(wrk).read()
def ms(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[u]
requests = int(re.search(r"(\d+) requests in", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
ticks = lambda f: {l.split()[0]: int(l.split()[1]) for l in open(f) if l.strip()}
b, a = ticks(before), ticks(after)
cpu = {n: (a[n] - b.get(n, 0)) * 10_000 / max(requests, 1) for n in a}  # µs per request (10 ms ticks)
print(json.dumps({
    "mode": mode, "round": int(rnd), "path": path, "requests": requests,
    "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
    "p50_ms": ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
    "p99_ms": ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
    "non_2xx": int(bad.group(1)) if bad else 0, "cpu_us_per_request": cpu,
}))
PY
}

run_mode() { # mode round
  local mode=$1 round=$2 disabled=false
  [ "$mode" = on ] || disabled=true
  log "round $round: telemetry $mode"
  # shellcheck disable=SC2086 # UP_ARGS is a list of flags
  OTEL_SDK_DISABLED=$disabled NO_COLOR=1 "${BIN_DIR:-target/release}/apiary" up $UP_ARGS >"$out/up.log" 2>&1 &
  launcher=$!
  wait_for_stack "$out/up.log"
  # Warm-up (connections, caches, the dashboard's first scrapes), not recorded.
  for path in "${PAGES[@]}"; do
    wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:8000$path" >/dev/null
  done
  for path in "${PAGES[@]}"; do run_page "$mode" "$round" "$path"; done
  stop_stack
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order=(on off); else order=(off on); fi
  for mode in "${order[@]}"; do run_mode "$mode" "$round"; done
done

cp "$out/runs.jsonl" "${RESULTS:-/tmp/bench-telemetry.jsonl}"
python3 - "$out/runs.jsonl" "$CONNECTIONS" "$DURATION" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
print(f"\nmachine: {os.cpu_count()} cores; {len(runs) // 4} rounds; wrk -t2 -c{sys.argv[2]} -d{sys.argv[3]}s; medians of the rounds\n")
print("| page | telemetry | req/s | p50 | p99 | CPU per request (µs, whole stack) | top processes (µs/request) |")
print("|---|---|---|---|---|---|---|")
summary = {}
for path in dict.fromkeys(r["path"] for r in runs):
    for mode in ("on", "off"):
        rs = [r for r in runs if r["path"] == path and r["mode"] == mode]
        names = sorted({n for r in rs for n in r["cpu_us_per_request"]})
        per = {n: med([r["cpu_us_per_request"].get(n, 0) for r in rs]) for n in names}
        total = med([sum(r["cpu_us_per_request"].values()) for r in rs])
        top = ", ".join(f"{n} {v:.0f}" for n, v in sorted(per.items(), key=lambda kv: -kv[1])[:4])
        rps, p50, p99 = (med([r[k] for r in rs]) for k in ("rps", "p50_ms", "p99_ms"))
        summary[(path, mode)] = (rps, p99, total)
        bad = sum(r["non_2xx"] for r in rs)
        print(f"| `{path}` | {mode} | {rps:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {total:.0f} | {top}"
              + (f" ({bad} non-2xx)" if bad else "") + " |")
print()
for path in dict.fromkeys(r["path"] for r in runs):
    (on_rps, on_p99, on_cpu), (off_rps, off_p99, off_cpu) = summary[(path, "on")], summary[(path, "off")]
    ratios = []
    for rnd in sorted({r["round"] for r in runs}):
        pair = {r["mode"]: r["rps"] for r in runs if r["path"] == path and r["round"] == rnd}
        ratios.append(pair["on"] / pair["off"])
    verdict = "met" if on_rps >= 0.95 * off_rps and on_p99 <= off_p99 * 1.05 else "not met"
    print(f"{path}: throughput on/off {on_rps / off_rps:.2f} (per round: "
          + ", ".join(f"{x:.2f}" for x in ratios) + f"), p99 {on_p99:.1f} vs {off_p99:.1f} ms, "
          f"CPU per request {on_cpu:.0f} vs {off_cpu:.0f} µs (+{on_cpu - off_cpu:.0f}); target (>= 0.95x, p99 no worse than off + 5 %): {verdict}")
PY
