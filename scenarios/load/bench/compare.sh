#!/usr/bin/env bash
# BENCHMARKS.md, "The unpaid 402 path": oha, wrk and paycheck against one reference server,
# one after another, in the same run. The server is pinned to core 1, every generator to
# core 0, so each generator gets one core and the server the other.
# Needs oha (cargo install oha --locked) and wrk (apt-get install wrk).
# Usage: scenarios/load/bench/compare.sh   (from the repository root, after cargo build --release)
set -euo pipefail
B=target/release/paycheck
OUT=$(mktemp -d)
taskset -c 1 "$B" serve-reference --protocol x402-v2 --port 0 > "$OUT/server" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER; rm -rf "$OUT"' EXIT
until grep -q reference "$OUT/server"; do sleep 0.1; done
URL=$(head -1 "$OUT/server" | awk '{print $NF}')

rps() { python3 -c "import json; m=json.load(open('$1/load.json'))['metrics']; print(f\"{m['rps']:.0f}/s ({m['errors']} errors)\")"; }

oha=$(taskset -c 0 oha -z 10s -c 64 --no-tui --output-format json "$URL/premium" |
  python3 -c 'import json,sys; print(round(json.load(sys.stdin)["summary"]["requestsPerSec"]))')
wrk=$(taskset -c 0 wrk -t1 -c64 -d10s "$URL/premium" | awk '/Requests\/sec/ {print int($2)}')
for p in 402-max-users 402-max 402-max-validated; do
  taskset -c 0 "$B" load "scenarios/load/bench/$p.toml" --target "$URL" --paid 'GET /premium' \
    --report-dir "$OUT/$p" --format json > /dev/null 2>&1 || true
done
echo "oha -c 64:                          $oha/s"
echo "wrk -c64:                           $wrk/s"
echo "paycheck, 64 users (closed):        $(rps "$OUT/402-max-users")"
echo "paycheck, open, 64 in flight:       $(rps "$OUT/402-max")"
echo "paycheck, open, 64, every 402 decoded: $(rps "$OUT/402-max-validated")"
