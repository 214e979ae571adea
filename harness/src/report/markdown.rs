//! `summary.md`: totals, then every check that did not pass, with expected and actual.

use super::Report;
use crate::catalogue::Status;
use std::fmt::Write;

/// Renders the Markdown summary (fit for a CI job summary or a PR comment).
pub fn render(report: &Report) -> String {
    let mut m = String::from("# paycheck conformance summary\n\n");
    if report.incomplete {
        m.push_str("**Incomplete run**: interrupted before every check ran.\n\n");
    }
    if !report.unproven.is_empty() {
        m.push_str("**Not proven**: a pass needs these graded, so this run fails closed.\n\n");
        for u in &report.unproven {
            let _ = writeln!(m, "- `{}`: {}", u.id, u.why);
        }
        m.push('\n');
    }
    m.push_str("| suite | target | pass | fail | warn | unsupported | not exercised | error |\n|---|---|---|---|---|---|---|---|\n");
    for s in &report.suites {
        let c = |st: Status| s.count(st);
        let _ = writeln!(
            m,
            "| {} | {} ({}) | {} | {} | {} | {} | {} | {} |",
            s.suite,
            s.target,
            s.target_kind,
            c(Status::Pass),
            c(Status::Fail),
            c(Status::Warn),
            c(Status::Unsupported),
            c(Status::NotExercised),
            c(Status::Error)
        );
    }
    let notable: Vec<_> = report
        .suites
        .iter()
        .flat_map(|s| &s.results)
        .filter(|r| r.status != Status::Pass)
        .collect();
    if notable.is_empty() {
        m.push_str("\nEvery check passed.\n");
        return m;
    }
    m.push_str("\n## Checks that did not pass\n\n| status | check | level | what happened |\n|---|---|---|---|\n");
    for r in notable {
        let _ = writeln!(
            m,
            "| {} | `{}` | {} | {} |",
            r.status,
            r.id,
            r.level,
            r.message.replace('|', "\\|")
        );
    }
    m
}
