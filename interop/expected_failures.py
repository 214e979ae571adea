"""Compares the failed check ids of a paycheck report with a pinned list.

Usage: python3 interop/expected_failures.py REPORT_JSON EXPECTED_TXT LABEL

EXPECTED_TXT holds one check id a line; '#' starts a comment (the SDK behaviour that
fails the check). Exit 0 when the failed ids are exactly the listed ones; 1 when they
differ (a unified diff is printed), when the run was incomplete or a check errored, or
when a check of a suite's money path (its `required` list) has no verdict.
"""

import difflib
import json
import sys


def main() -> int:
    report_path, expected_path, label = sys.argv[1:4]
    report = json.load(open(report_path))
    results = [r for s in report["suites"] for r in s["results"]]
    errored = [r["id"] for r in results if r["status"] == "error"]
    if report["incomplete"] or errored:
        print(f"{label}: incomplete run or checks in error: {errored}", file=sys.stderr)
        return 1
    graded = {r["id"] for r in results if r["status"] in ("pass", "fail", "warn")}
    ungraded = [i for s in report["suites"] for i in s["required"] if i not in graded]
    if ungraded:
        print(f"{label}: the money path was not graded: {ungraded}", file=sys.stderr)
        return 1
    actual = sorted(r["id"] for r in results if r["status"] == "fail")
    expected = sorted(
        line.split("#", 1)[0].strip()
        for line in open(expected_path)
        if line.split("#", 1)[0].strip()
    )
    if actual == expected:
        print(f"{label}: the failed checks are exactly the {len(expected)} expected ones")
        return 0
    diff = difflib.unified_diff(
        [e + "\n" for e in expected],
        [a + "\n" for a in actual],
        fromfile=expected_path,
        tofile=f"failed in {report_path}",
    )
    sys.stdout.writelines(diff)
    print(f"{label}: the failed checks differ from {expected_path} (see the diff above)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
