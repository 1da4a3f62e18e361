#!/usr/bin/env bash
# Time for a fault change to take effect in a service, per flag source: from the control plane
# accepting `apiary fault set` (error-rate 100% on catalog) to catalog answering 500, and from
# `apiary fault clear` to catalog answering 200 again. Runs the release stack twice: with the
# flag file (`[faults] source = "file"`, the default: the dashboard writes it, each service's
# provider watches it) and with the dashboard's flagd sync service (`source = "dashboard"`: the
# services' in-process flagd providers sync over gRPC, the path flagd takes in compose and
# Kubernetes). Prints each run and the medians.
#
#   scripts/bench-flags.sh          # 7 changes per source
#   RUNS=15 scripts/bench-flags.sh
#
# Loopback only; every wait is bounded (10 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

RUNS="${RUNS:-7}"
cargo build --release --locked --workspace --bins >/dev/null
work=$(mktemp -d)
trap 'kill -TERM "${launcher:-}" 2>/dev/null; wait "${launcher:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
until_status() {  # status -> ms waited
  local want=$1 start
  start=$(now_ms)
  while [ "$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:8001/products?limit=1')" != "$want" ]; do
    [ $(( $(now_ms) - start )) -lt 10000 ] || die "catalog never answered $want"
  done
  echo $(( $(now_ms) - start ))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

for source in file dashboard; do
  manifest="$work/apiary-$source.toml"
  # The repository's manifest, its paths made absolute, with this flag source.
  sed -e "s|^data_dir = \".apiary/data\"|data_dir = \"$work/data-$source\"|" \
      -e "s|^flags = \"drills/|flags = \"$PWD/drills/|" -e "s|^drills = \"drills\"|drills = \"$PWD/drills\"|" \
      -e "s|^# source = \"file\"|source = \"$source\"|" apiary.toml >"$manifest"
  NO_COLOR=1 target/release/apiary up --no-load --manifest "$manifest" >"$work/up-$source.log" 2>&1 &
  launcher=$!
  wait_for_stack "$work/up-$source.log"
  until_status 200 >/dev/null
  : >"$work/on-$source" ; : >"$work/off-$source"
  for _ in $(seq 1 "$RUNS"); do
    id=$(target/release/apiary fault set error-rate service=catalog percent=100 --ttl 60 \
           --manifest "$manifest" | awk '{print $NF; exit}' | tr -d ')')
    until_status 500 >>"$work/on-$source"
    target/release/apiary fault clear "$id" --manifest "$manifest" >/dev/null
    until_status 200 >>"$work/off-$source"
    sleep 0.5
  done
  echo "$source: on $(tr '\n' ' ' <"$work/on-$source")ms; off $(tr '\n' ' ' <"$work/off-$source")ms"
  kill -TERM "$launcher"; wait "$launcher" 2>/dev/null || true
done
echo
echo "| flag source | fault on -> in effect (median of $RUNS) | cleared -> gone (median) |"
echo "|---|---|---|"
for source in file dashboard; do
  echo "| $source | $(median <"$work/on-$source") ms | $(median <"$work/off-$source") ms |"
done
