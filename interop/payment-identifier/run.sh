#!/usr/bin/env bash
# CI for paycheck against the reference SDKs with their own payment-identifier extension
# declared on every route (PAYMENT_IDENTIFIER=required): @x402/express (server.js of
# interop/x402-express-v2) and the Python x402 SDK (server.py of interop/x402-fastapi).
# For each, the failed check ids of the payment, payment-id and retry sections must be
# exactly those in <server>.txt here, so paycheck keeps catching that both SDKs advertise
# idempotency they do not implement, and nothing else.
#
# Usage: interop/payment-identifier/run.sh [PAYCHECK_BINARY] [extra paycheck run flags...]
#   Needs interop/x402-express-v2/node_modules (interop/run.sh installs them); creates
#   interop/x402-fastapi/.venv-extensions from requirements-x402-fastapi.txt here.
# Environment:
#   PYTHON                interpreter for the venv (default python3; the SDK needs >= 3.10)
#   X402_PID_REPORT_DIR   report root (default reports/interop/payment-identifier)
#   X402_PID_SKIP_INSTALL 1: use the venv as it is
# Exit: 0 both match; 1 a set differs (a diff is printed), or a check errored or a run was
# incomplete; 2-4 paycheck's own trouble; 5 setup failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
job=payment-identifier
# shellcheck source=../paycheck-binary.sh
source "$here/../paycheck-binary.sh"

express="$repo/interop/x402-express-v2"
fastapi="$repo/interop/x402-fastapi"
[[ -d "$express/node_modules" ]] || { echo "$job: no $express/node_modules; run interop/run.sh first" >&2; exit 5; }
# shellcheck source=../python-venv.sh
source "$here/../python-venv.sh"
venv="$fastapi/.venv-extensions"
python_venv "$venv" "$here/requirements-x402-fastapi.txt" 10 "${X402_PID_SKIP_INSTALL:-0}"

root="${X402_PID_REPORT_DIR:-$repo/reports/interop/payment-identifier}"
worst=0
for server in x402-express-v2 x402-fastapi; do
    case "$server" in
        x402-express-v2) cmd="exec node '$express/server.js'" ;;
        x402-fastapi) cmd="exec '$venv/bin/python' '$fastapi/server.py'" ;;
    esac
    out="$root/$server"
    rm -rf "$out"
    mkdir -p "$out"
    echo "== $job: $server with PAYMENT_IDENTIFIER=required: paycheck run --suite x402-v2"
    rc=0
    PAYMENT_IDENTIFIER=required "$paycheck" run --suite x402-v2 --spawn "$cmd" \
        --paid 'GET /premium' --paid 'POST /compute {}' --free 'GET /health' \
        --failing 'POST /compute {"fail":true}' --queued 'POST /compute {"queue":true}' \
        --only 'x402-v2/payment/*' --only 'x402-v2/payment-id/*' --only 'x402-v2/retry/*' \
        --report-dir "$out" "$@" || rc=$?
    if [[ "$rc" -ge 2 ]]; then
        echo "$job: paycheck exited $rc on $server (see $out/server.log)" >&2
        rc=$(( rc > 4 ? 4 : rc ))
    else
        "$venv/bin/python" "$here/../expected_failures.py" "$out/report.json" "$here/$server.txt" \
            "$job/$server"
        rc=$?
    fi
    if [[ "$rc" -gt "$worst" ]]; then worst=$rc; fi
done
exit "$worst"
