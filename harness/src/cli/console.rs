//! Console output: a progress bar on a terminal, then results grouped by suite and
//! section like h2spec, with expected and actual under each failure.

use crate::catalogue::Status;
use crate::catalogue::runner::CheckResult;
use crate::report::Report;
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// A progress bar that draws only on a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total` checks; hidden when stderr is not a terminal or `show` is false.
    pub fn new(total: u64, show: bool) -> Self {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    .expect("the template is valid"),
            );
            bar
        });
        Self { bar }
    }

    /// Sets the number of checks to expect.
    pub fn set_total(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// Counts one finished check.
    pub fn tick(&self, result: &CheckResult) {
        if let Some(bar) = &self.bar {
            bar.set_message(result.id.clone());
            bar.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Prints the grouped results and the totals.
pub fn print(report: &Report) {
    super::out_str(&render(report));
}

/// The grouped results and the totals, as printed.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for suite in &report.suites {
        let _ = writeln!(
            out,
            "{} ({}, {})",
            suite.suite, suite.target, suite.target_kind
        );
        let mut section = "";
        for r in &suite.results {
            if r.section != section {
                section = &r.section;
                let _ = writeln!(out, "  {section}");
            }
            let name = r.id.rsplit('/').next().unwrap_or(&r.id);
            let _ = writeln!(
                out,
                "    {} {name}: {} [{}]",
                r.status.marker(),
                r.title,
                r.level
            );
            if r.status != Status::Pass {
                match (&r.expected, &r.actual) {
                    (Some(e), Some(a)) => {
                        let _ = writeln!(out, "        expected: {e}");
                        let _ = writeln!(out, "          actual: {a}");
                    }
                    _ => {
                        let _ = writeln!(
                            out,
                            "        {}: {}",
                            r.status,
                            r.message.lines().next().unwrap_or_default()
                        );
                    }
                }
                // Property failures carry the reproduction (curl and payload) on more lines.
                if let Some((_, rest)) = r.message.split_once('\n') {
                    for line in rest.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
        }
    }
    let n = |s| report.count(s);
    let _ = writeln!(
        out,
        "\n{} checks in {:.0} ms: {} passed, {} failed, {} warned, {} unsupported, {} not exercised, {} errors{}",
        report.suites.iter().map(|s| s.results.len()).sum::<usize>(),
        report.elapsed_ms,
        n(Status::Pass),
        n(Status::Fail),
        n(Status::Warn),
        n(Status::Unsupported),
        n(Status::NotExercised),
        n(Status::Error),
        if report.incomplete {
            " (INCOMPLETE: interrupted)"
        } else {
            ""
        }
    );
    if !report.unproven.is_empty() {
        let _ = writeln!(
            out,
            "\nNOT PROVEN ({} profile): a pass needs these graded, so this run fails closed:",
            report.scope
        );
        for u in &report.unproven {
            let _ = writeln!(out, "  ? {}: {}", u.id, u.why);
        }
        let _ = writeln!(
            out,
            "  give paycheck what they need (see each reason), scope them away with --exclude, or pass --profile signal-only for a server paycheck cannot pay"
        );
    }
    out
}
