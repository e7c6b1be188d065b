#!/usr/bin/env bash
# The cost of /metrics on unary GetOrder: two servers from this checkout, one
# with metrics (the default) and one with --no-metrics, loaded alternately by
# h2load over gRPC h2c (-c 4 -m 16), servers pinned to core 1 and h2load to
# core 0. Prints req/s and server CPU µs per request (/proc/PID/stat) per run.
#   bash bench/metrics-ab.sh [rounds=5] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-10}
node=node_modules/.bin/node
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
printf '\x00\x00\x00\x00\x05\x0a\x03102' > "$tmp/body.grpc" # {id: "102"}
declare -A port pid
serve() { # name port flags...
  local name=$1 p=$2; shift 2
  mkdir "$tmp/$name"
  taskset -c 1 "$node" --max-semi-space-size=8 server/src/main.ts --host 127.0.0.1 --port "$p" \
    --data-dir "$tmp/$name" --services order "$@" > /dev/null 2>&1 &
  pid[$name]=$!; port[$name]=$p; pids+=($!)
}
serve metrics 18183
serve no-metrics 18184 --no-metrics
sleep 4
load() { taskset -c 0 h2load -c 4 -m 16 -D "$1" -d "$tmp/body.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:${port[$2]}/order.v1.OrderService/GetOrder"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for n in metrics no-metrics; do load 3 "$n" > /dev/null; done # warm-up
for r in $(seq "$rounds"); do
  for n in metrics no-metrics; do
    c0=$(cpu "${pid[$n]}")
    out=$(load "$secs" "$n")
    c1=$(cpu "${pid[$n]}")
    rps=$(sed -nE 's/^finished in .* ([0-9.]+) req\/s.*/\1/p' <<<"$out")
    ok=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' <<<"$out")
    tck=$(getconf CLK_TCK)
    printf 'round %s %-10s req/s %8s  server CPU µs/req %5.1f  load %s\n' "$r" "$n" "$rps" \
      "$(awk -v c=$((c1 - c0)) -v n="$ok" -v t="$tck" 'BEGIN { print c * 1e6 / t / n }')" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
