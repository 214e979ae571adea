#!/usr/bin/env bash
# BENCHMARKS.md, "Memory per virtual user": peak RSS of `paycheck load` with 1k and 10k
# users, on goose and on paycheck's own users, against a separate reference server (so
# that the server's memory is not counted). 10k users need 10k open files on each side.
# Usage: scenarios/load/bench/memory.sh   (from the repository root, after cargo build --release)
set -euo pipefail
ulimit -n 20000
B=target/release/paycheck
OUT=$(mktemp -d)
taskset -c 1 "$B" serve-reference --protocol x402-v2 --port 0 > "$OUT/server" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER; rm -rf "$OUT"' EXIT
until grep -q reference "$OUT/server"; do sleep 0.1; done
URL=$(head -1 "$OUT/server" | awk '{print $NF}')
for p in vus-1000 users-1000 vus-10000 users-10000; do
  /usr/bin/time -f "%M" -o "$OUT/rss" taskset -c 0 "$B" load "scenarios/load/bench/$p.toml" \
    --target "$URL" --paid 'GET /premium' --report-dir "$OUT/$p" --format json > /dev/null 2>&1 || true
  python3 -c "
import json; r=json.load(open('$OUT/$p/load.json')); m=r['metrics']
kb=int(open('$OUT/rss').read())
print(f\"$p ({r['engine']}): peak RSS {kb/1024:.0f} MB; {m['requests']} requests, {m['rps']:.0f}/s, {m['errors']} errors\")"
done
