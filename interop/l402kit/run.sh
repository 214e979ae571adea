#!/usr/bin/env bash
# CI for paycheck against l402-kit (PyPI l402kit, pinned in requirements.txt): creates
# the venv, installs the pinned packages, runs `paycheck run --suite l402-single-use
# --spawn server.py`, and checks that the failed check ids are exactly those listed in
# expected-failures.txt, so paycheck keeps catching l402-kit's known flaws and nothing else.
#
# Usage: interop/l402kit/run.sh [PAYCHECK_BINARY] [extra paycheck run flags...]
#   PAYCHECK_BINARY defaults to target/release/paycheck (relative to the repo root).
# Environment:
#   PYTHON                interpreter for the venv (default python3; l402kit needs >= 3.11)
#   L402KIT_REPORT_DIR    report directory (default reports/interop/l402kit)
#   L402KIT_SKIP_INSTALL  1: use the venv as it is
# Exit: 0 the failed ids match; 1 they differ (a diff is printed), or a check errored
# or the run was incomplete; 2-4 paycheck's own trouble (usage, server not started,
# internal error); 5 setup failed (no binary, no suitable Python, pip install failed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
job=l402kit
# shellcheck source=../paycheck-binary.sh
source "$here/../paycheck-binary.sh"

# shellcheck source=../python-venv.sh
source "$here/../python-venv.sh"
venv="$here/.venv"
py="$venv/bin/python"
python_venv "$venv" "$here/requirements.txt" 11 "${L402KIT_SKIP_INSTALL:-0}"

out="${L402KIT_REPORT_DIR:-$repo/reports/interop/l402kit}"
rm -rf "$out"
mkdir -p "$out"
echo "== l402kit: paycheck run --suite l402-single-use"
rc=0
"$paycheck" run --suite l402-single-use \
    --spawn "exec '$py' '$here/server.py'" \
    --paid 'GET /premium' --free 'GET /health' \
    --report-dir "$out" "$@" || rc=$?
if [[ "$rc" -ge 2 ]]; then
    echo "l402kit: paycheck exited $rc (see $out/server.log)" >&2
    exit "$(( rc > 4 ? 4 : rc ))"
fi

# The failed ids must be exactly the pinned ones; a check in error or an incomplete run
# is never a match.
exec "$py" "$here/../expected_failures.py" "$out/report.json" "$here/expected-failures.txt" l402kit
