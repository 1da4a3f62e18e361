#!/usr/bin/env bash
# The live soak: the whole stack as `apiary up` runs it (release binaries, the dashboard, the
# repository's apiary.toml and ports) under shopper load for a bounded time, each process's
# memory sampled as it goes; then the checks that a long day must not break:
#   - memory flat after warm-up: every process's peak RSS over the last two minutes within 10%
#     or 16 MiB of its peak over the two minutes after the warm-up ended (peaks, not single
#     samples: allocators swing by a few MiB). The warm-up is half the run by default: the
#     dashboard's log store (50,000 records) takes about 35 minutes to fill at 20 journeys/s,
#     and until its stores are full its memory rightly grows;
#   - every service still listed by name in the dashboard and found by a trace search on its
#     name, nothing named "(other)";
#   - no service restarted.
# Prints a Markdown table (the README's) and exits 1 when a check fails.
#
#   scripts/soak.sh                                   # 60 minutes at 20 journeys/s
#   SOAK_MINUTES=5 SOAK_WARMUP_MINUTES=1 scripts/soak.sh   # a short run
#
# Its compressed twin, a day of high-cardinality spans in minutes against the dashboard alone,
# is `cargo bench -p dashboard --bench soak`. Loopback only; bounded by SOAK_MINUTES.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

MINUTES="${SOAK_MINUTES:-60}"
RATE="${SOAK_RATE:-20}"
SAMPLE_S="${SOAK_SAMPLE_S:-30}"
WARMUP_MINUTES="${SOAK_WARMUP_MINUTES:-$(( MINUTES / 2 ))}"
[ "$WARMUP_MINUTES" -lt "$MINUTES" ] || die "SOAK_WARMUP_MINUTES must be less than SOAK_MINUTES"
command -v python3 >/dev/null || ensure_apt python3
cargo build --release --locked --workspace --bins >/dev/null

out=$(mktemp -d)
log "soak: ${MINUTES} min at ${RATE} journeys/s (samples every ${SAMPLE_S} s in $out/memory.csv)"
NO_COLOR=1 target/release/apiary up --load-rate "$RATE" --data-dir "$out/data" >"$out/up.log" 2>&1 &
launcher=$!
trap 'kill -TERM $launcher 2>/dev/null; wait $launcher 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "every service is ready" "$out/up.log" && break
  sleep 0.1
done
grep -q "every service is ready" "$out/up.log" || die "stack not ready: $(cat "$out/up.log")"

# name -> pid from the launcher's "started NAME (pid N)" lines; the newest wins.
pids() {
  sed -n 's/.*started \([a-z-]*\) (pid \([0-9]*\)).*/\1 \2/p' "$out/up.log" | awk '{ p[$1] = $2 } END { for (n in p) print n, p[n] }'
}

echo "elapsed_s,process,rss_kib,pss_kib" >"$out/memory.csv"
start=$(date +%s)
end=$(( start + MINUTES * 60 ))
while [ "$(date +%s)" -lt "$end" ]; do
  elapsed=$(( $(date +%s) - start ))
  while read -r name pid; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    echo "$elapsed,$name,${rss:-0},${pss:-0}" >>"$out/memory.csv"
  done < <(pids)
  sleep "$SAMPLE_S"
done

curl -sf "http://127.0.0.1:8080/api/services" >"$out/services.json" || die "the dashboard does not answer"
searchable=""
for service in gateway catalog cart checkout inventory payment shipping reviews recommendations orders; do
  if curl -sf "http://127.0.0.1:8080/api/traces?service=$service&limit=1" | grep -q '"trace_id"'; then
    searchable="$searchable $service"
  fi
done
restarts=$(grep -c "restarting in" "$out/up.log" || true)

python3 - "$out/memory.csv" "$out/services.json" "$WARMUP_MINUTES" "$MINUTES" "$RATE" "$searchable" "$restarts" <<'EOF'
import csv, json, sys
path, services_path, warmup_min, minutes, rate, searchable, restarts = sys.argv[1:8]
warmup_s = int(warmup_min) * 60
rows = list(csv.DictReader(open(path)))
by = {}
for r in rows:
    by.setdefault(r["process"], []).append((int(r["elapsed_s"]), int(r["rss_kib"]) / 1024, int(r["pss_kib"]) / 1024))
ok = True
print(f"| soak: {minutes} min at {rate} journeys/s | peak RSS, 2 min after warm-up ({warmup_min} min) | peak RSS, last 2 min | verdict |")
print("|---|---|---|---|")
total_warm = total_end = 0.0
for name in sorted(by):
    samples = by[name]
    after = [s for s in samples if s[0] >= warmup_s]
    if not after:
        continue
    # Peaks over two-minute windows: right after the warm-up, and at the end.
    first = [s for s in after if s[0] < after[0][0] + 120]
    final = [s for s in after if s[0] > after[-1][0] - 120]
    warm, last = max(s[1] for s in first), max(s[1] for s in final)
    total_warm += after[0][2]
    total_end += after[-1][2]
    flat = last <= max(warm * 1.10, warm + 16)
    ok &= flat
    print(f"| {name} | {warm:.0f} MiB | {last:.0f} MiB | {'flat' if flat else 'GROWING'} |")
print(f"| whole stack (PSS) | {total_warm:.0f} MiB | {total_end:.0f} MiB | |")
services = json.load(open(services_path))
names = {s.get("name") for s in services}
want = set("gateway catalog cart checkout inventory payment shipping reviews recommendations orders".split())
found = set(searchable.split())
other = "(other)" in json.dumps(services)
print(f"| services listed by name | {len(names & want)} of 10 | searchable by name: {len(found & want)} of 10 | {'ok' if names >= want and found >= want else 'MISSING ' + str(sorted(want - (names & found)))} |")
print(f"| anything named \"(other)\" | | {'yes' if other else 'no'} | {'BROKEN' if other else 'ok'} |")
print(f"| restarts during the soak | | {restarts} | {'ok' if restarts == '0' else 'BROKEN'} |")
ok &= names >= want and found >= want and not other and restarts == "0"
sys.exit(0 if ok else 1)
EOF
