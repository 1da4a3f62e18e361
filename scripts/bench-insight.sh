#!/usr/bin/env bash
# The steady state a new user meets, and what the dashboard's insight costs. Runs the release
# stack with its default background load (5 journeys/s), lets it settle, then samples the
# dashboard once a second:
#   - calm: is any diagnosis shown (probable cause banner), any map edge with failures, any
#     burning SLO; orders placed and failed per minute; each service's p95; whether the newest
#     traces of checkout are health probes;
#   - how long a checkout trace's page takes with every span's percentile, and a comparison;
#   - the dashboard's CPU (user + system, from /proc) and memory (RSS) per minute, calm and
#     then while a fault is on (payment error-rate 100%, so the probable cause is computed every
#     second and the SLO alerts fire).
# Prints a Markdown summary.
#
#   scripts/bench-insight.sh                     # settle 120 s, sample 60 s calm, 60 s faulted
#   SETTLE=600 SAMPLE=120 scripts/bench-insight.sh
#
# Loopback only; every wait is bounded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

SETTLE="${SETTLE:-120}"
SAMPLE="${SAMPLE:-60}"
command -v python3 >/dev/null || die "python3 is needed to read the dashboard's JSON"
cargo build --release --locked --workspace --bins >/dev/null
work=$(mktemp -d)
trap 'kill -TERM "${launcher:-}" 2>/dev/null; wait "${launcher:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

manifest="$work/apiary.toml"
sed -e "s|^data_dir = \".apiary/data\"|data_dir = \"$work/data\"|" \
    -e "s|^flags = \"drills/|flags = \"$PWD/drills/|" -e "s|^drills = \"drills\"|drills = \"$PWD/drills\"|" \
    apiary.toml >"$manifest"
NO_COLOR=1 target/release/apiary up --manifest "$manifest" >"$work/up.log" 2>&1 &
launcher=$!
wait_for_stack "$work/up.log"
dash=$(pgrep -f -n "target/release/dashboard") || die "no dashboard process"
echo "stack ready; settling ${SETTLE} s under the default load" >&2
sleep "$SETTLE"

# One phase: SAMPLE snapshots a second apart, the dashboard's CPU and RSS around them.
phase() {
  local name=$1
  python3 - "$name" "$SAMPLE" "$dash" <<'PY'
import json, os, sys, time, urllib.request
name, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:8080{path}", timeout=5) as r:
        return json.load(r)
c0, t0 = cpu(), time.time()
diag = burn = failing_edges = 0
rejected = {}
p95 = {}
rss_max = 0.0
orders = failed = 0.0
for _ in range(n):
    s = get("/api/snapshot")
    diag += bool(s.get("diagnosis"))
    burn += any(x.get("alert") for v in s["services"] for x in v.get("slos", []))
    failing_edges += sum(1 for e in s["topology"]["edges"] if e.get("error_rate", 0) > 0)
    for e in s["topology"]["edges"]:
        if e.get("rejected_rate", 0) > 0:
            rejected[f'{e["from"]}->{e["to"]}'] = max(rejected.get(f'{e["from"]}->{e["to"]}', 0), e["rejected_rate"])
    for v in s["services"]:
        if v["latency_ms"].get("p95") is not None:
            p95.setdefault(v["name"], []).append(v["latency_ms"]["p95"])
    orders += s["business"].get("orders_per_min", 0)
    failed += s["business"].get("orders_failed_per_min", 0)
    rss_max = max(rss_max, rss())
    time.sleep(1)
secs = time.time() - t0
cpu_per_min = (cpu() - c0) / secs * 60
traces = get("/api/traces?service=checkout&limit=20")
probes = sum(1 for t in traces if "health" in (t.get("root_name") or t.get("name") or ""))
med = lambda xs: sorted(xs)[len(xs) // 2]
print(f"### {name} ({n} samples)")
print(f"- dashboard CPU: {cpu_per_min:.1f} s per minute; RSS up to {rss_max:.0f} MiB")
print(f"- snapshots with a diagnosis (probable cause banner): {diag} of {n}; with a burning SLO: {burn} of {n}")
print(f"- map edges with failures, summed over samples: {failing_edges}")
print(f"- edges answering 4xx (largest share seen): " + (", ".join(f"{k} {v:.0%}" for k, v in sorted(rejected.items())) or "none"))
print(f"- orders placed / failed per minute (mean): {orders / n:.1f} / {failed / n:.1f}")
print(f"- p95 per service (median of samples): " + ", ".join(f"{k} {med(v):.2f} ms" for k, v in sorted(p95.items())))
print(f"- health-probe traces among checkout's newest 20: {probes}")
# A checkout trace's page, with every span's percentile among its operation's last 5 minutes
# (the API call the waterfall makes), and the comparison of two checkouts.
def timed(path):
    t = time.perf_counter()
    body = get(path)
    return (time.perf_counter() - t) * 1000, body
if len(traces) >= 2:
    a, b = traces[0]["trace_id"], traces[1]["trace_id"]
    detail = [timed(f"/api/traces/{a}") for _ in range(20)]
    ranked = sum(1 for sp in detail[-1][1]["spans"] if sp.get("percentile"))
    compare = [timed(f"/api/traces/compare?a={a}&b={b}")[0] for _ in range(20)]
    print(f"- a checkout trace with percentiles: median {med([d[0] for d in detail]):.1f} ms, "
          f"largest {max(d[0] for d in detail):.1f} ms ({ranked} of {len(detail[-1][1]['spans'])} spans ranked); "
          f"two checkouts compared: median {med(compare):.1f} ms")
PY
}

phase "calm, default load"
target/release/apiary fault set error-rate service=payment percent=100 --ttl $((SAMPLE + 30)) \
  --manifest "$manifest" >/dev/null
sleep 3
phase "payment error-rate 100% (probable cause computed every second)"
