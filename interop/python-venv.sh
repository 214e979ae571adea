# Sourced by the interop jobs that run a Python server: defines python_venv, which makes
# (unless skipped) and checks the job's venv. Needs $job set (its name, for errors).
#
# python_venv VENV REQUIREMENTS MINOR SKIP
#   Unless SKIP is 1: checks that ${PYTHON:-python3} is at least 3.MINOR, creates VENV and
#   pip-installs REQUIREMENTS into it. Then requires VENV/bin/python. Exits 5 on failure.
python_venv() {
    local venv="$1" requirements="$2" minor="$3" skip="$4"
    if [[ "$skip" != 1 ]]; then
        "${PYTHON:-python3}" -c "import sys; sys.exit(sys.version_info < (3, $minor))" \
            || { echo "$job: needs Python >= 3.$minor (set PYTHON)" >&2; exit 5; }
        echo "== $job: venv and pip install -r $(basename "$requirements")"
        "${PYTHON:-python3}" -m venv "$venv" || exit 5
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements" || exit 5
    fi
    [[ -x "$venv/bin/python" ]] || { echo "$job: no venv at $venv (do not skip the install)" >&2; exit 5; }
}
