#!/usr/bin/env bash
# Peak memory of `paycheck run` against hostile servers (BENCHMARKS.md "Hostile servers").
# Starts each behaviour of the example hostile server on a free loopback port, runs the
# x402-v2 suite against it under /usr/bin/time, prints "BEHAVIOUR: exit E, S s wall, K KB
# maxrss", and stops the server. Every run is bounded by --timeout and the read cap.
#
# Usage: harness/benches/hostile-rss.sh [BEHAVIOUR...]   (default: body-1gib endless-chunked)
# Needs: cargo build --release --bin paycheck --example hostile_server
set -uo pipefail
cd "$(dirname "$0")/../.."
paycheck=target/release/paycheck
server_bin=target/release/examples/hostile_server
[[ -x $paycheck && -x $server_bin ]] || {
    echo "build first: cargo build --release --bin paycheck --example hostile_server" >&2
    exit 2
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for behaviour in "${@:-body-1gib endless-chunked}"; do
    for b in $behaviour; do
        coproc SERVER { exec "$server_bin" "$b"; }
        read -r line <&"${SERVER[0]}"
        url=${line##* }
        /usr/bin/time -o "$out/time" -f "%e %M" "$paycheck" run --suite x402-v2 --target "$url" \
            --paid 'GET /premium' --free 'GET /health' --report-dir "$out/$b" >/dev/null 2>&1
        code=$?
        # /usr/bin/time writes "Command exited with non-zero status N" first when it is.
        read -r wall rss < <(tail -n 1 "$out/time")
        echo "$b: exit $code, $wall s wall, $rss KB maxrss"
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    done
done
