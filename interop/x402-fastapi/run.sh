#!/usr/bin/env bash
# Interop job: paycheck against the official Python x402 SDK (PyPI x402, pinned with its
# FastAPI and every transitive dependency in requirements.txt). Creates the venv,
# installs the pinned packages, runs `paycheck run --suite x402-v2 --spawn server.py`
# with the same routes as interop/x402-express-v2, and prints the summary and a verdict.
#
# Usage: interop/x402-fastapi/run.sh [PAYCHECK_BINARY] [extra paycheck run flags...]
#   PAYCHECK_BINARY defaults to target/release/paycheck (relative to the repo root).
# Environment:
#   PYTHON                     interpreter for the venv (default python3; x402 needs >= 3.10)
#   X402_FASTAPI_REPORT_DIR    report directory (default reports/interop/x402-fastapi)
#   X402_FASTAPI_SKIP_INSTALL  1: use the venv as it is
#   X402_FASTAPI_REQUIRE_PASS  1: a failed check (paycheck exit 1) makes this script fail.
#                              Otherwise it is reported but tolerated (see docs/interop.md).
# Exit: 0 paycheck ran (and, with X402_FASTAPI_REQUIRE_PASS=1, every check passed);
# 1 checks failed and X402_FASTAPI_REQUIRE_PASS=1; 2-4 paycheck's own trouble (usage,
# server not started, internal error); 5 setup failed (no binary, no suitable Python,
# the venv or pip install failed).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
job=x402-fastapi
# shellcheck source=../paycheck-binary.sh
source "$here/../paycheck-binary.sh"

# shellcheck source=../python-venv.sh
source "$here/../python-venv.sh"
venv="$here/.venv"
py="$venv/bin/python"
python_venv "$venv" "$here/requirements.txt" 10 "${X402_FASTAPI_SKIP_INSTALL:-0}"

out="${X402_FASTAPI_REPORT_DIR:-$repo/reports/interop/x402-fastapi}"
[[ "$out" == /* ]] || out="$PWD/$out"
rm -rf "$out"    # no stale summary from an earlier run
mkdir -p "$out"
echo "== x402-fastapi: paycheck run --suite x402-v2"
rc=0
"$paycheck" run --suite x402-v2 \
    --spawn "exec '$py' '$here/server.py'" \
    --paid 'GET /premium' \
    --paid 'POST /compute {}' \
    --free 'GET /health' \
    --failing 'POST /compute {"fail":true}' \
    --queued 'POST /compute {"queue":true}' \
    --replicas 2 \
    --report-dir "$out" "$@" || rc=$?

case "$rc" in
    0) verdict="pass" ;;
    1) verdict="checks failed" ;;
    2) verdict="usage or scenario error" ;;
    3) verdict="target could not be reached or started" ;;
    4) verdict="paycheck internal error" ;;
    *) verdict="unexpected exit code" ;;
esac
if [[ -f "$out/summary.md" ]]; then
    echo "-- $out/summary.md"
    cat "$out/summary.md"
    echo
fi
echo "x402-fastapi (x402-v2): paycheck exit $rc, $verdict; reports in $out"

if [[ "$rc" -ge 2 ]]; then
    echo "x402-fastapi: paycheck exited $rc (see $out/server.log)" >&2
    exit "$(( rc > 4 ? 4 : rc ))"
fi
if [[ "$rc" -eq 1 ]]; then
    if [[ "${X402_FASTAPI_REQUIRE_PASS:-0}" == 1 ]]; then
        echo "x402-fastapi: checks failed and X402_FASTAPI_REQUIRE_PASS=1" >&2
        exit 1
    fi
    echo "x402-fastapi: checks failed (tolerated; set X402_FASTAPI_REQUIRE_PASS=1 to make this fatal)"
fi
exit 0
