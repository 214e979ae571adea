# Sourced by the interop jobs in interop/*/ (with $here set to the job's folder and $job
# to its name): sets $repo and $paycheck, the binary named by the job's first argument
# (default target/release/paycheck, relative to the repo root), and shifts that argument
# off, so "$@" is left with the extra paycheck run flags. Exits 5 when there is no binary.
repo="$(cd "$here/../.." && pwd)"
paycheck="${1:-target/release/paycheck}"
shift || true
[[ "$paycheck" == /* ]] || paycheck="$repo/$paycheck"
[[ -x "$paycheck" ]] || { echo "$job: paycheck binary not found: $paycheck" >&2; exit 5; }
