#!/usr/bin/env bash
# CI for paycheck against @x402/express with the SDK's own payment-identifier extension
# declared on every route (server.js with PAYMENT_IDENTIFIER=required): the failed check
# ids must be exactly those in payment-identifier-expected-failures.txt, so paycheck
# keeps catching that the SDK advertises idempotency it does not implement, and nothing
# else. The payment, payment-id and retry sections only (the rest is interop/run.sh's).
#
# Usage: interop/x402-express-v2/payment-identifier.sh [PAYCHECK_BINARY] [extra flags...]
#   Needs node_modules: interop/run.sh installs them (npm ci) first.
# Environment: X402_PID_REPORT_DIR  report directory (default
#   reports/interop/x402-express-v2-payment-id)
# Exit: 0 the failed ids match; 1 they differ (a diff is printed), or a check errored or
# the run was incomplete; 2-4 paycheck's own trouble; 5 setup missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
job=payment-identifier
# shellcheck source=../paycheck-binary.sh
source "$here/../paycheck-binary.sh"
[[ -d "$here/node_modules" ]] || { echo "payment-identifier: no node_modules; run interop/run.sh first" >&2; exit 5; }

out="${X402_PID_REPORT_DIR:-$repo/reports/interop/x402-express-v2-payment-id}"
rm -rf "$out"
mkdir -p "$out"
echo "== x402-express-v2 with PAYMENT_IDENTIFIER=required: paycheck run --suite x402-v2"
rc=0
PAYMENT_IDENTIFIER=required "$paycheck" run --suite x402-v2 \
    --spawn "exec node '$here/server.js'" \
    --paid 'GET /premium' --paid 'POST /compute {}' --free 'GET /health' \
    --failing 'POST /compute {"fail":true}' --queued 'POST /compute {"queue":true}' \
    --only 'x402-v2/payment/*' --only 'x402-v2/payment-id/*' --only 'x402-v2/retry/*' \
    --report-dir "$out" "$@" || rc=$?
if [[ "$rc" -ge 2 ]]; then
    echo "payment-identifier: paycheck exited $rc (see $out/server.log)" >&2
    exit "$(( rc > 4 ? 4 : rc ))"
fi
exec python3 "$here/../expected_failures.py" "$out/report.json" \
    "$here/payment-identifier-expected-failures.txt" x402-express-v2-payment-id
