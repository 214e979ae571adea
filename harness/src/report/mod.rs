//! Reports of a run, written atomically into the report directory: `report.json`
//! (versioned; schema in `schemas/report.schema.json`), `junit.xml` (one testcase per
//! check), `summary.md`, `report.sarif` (SARIF 2.1.0) and `report.html` (request and
//! response shown for every check that did not pass).

mod atomic;
pub mod gate;
mod html;
mod junit;
mod markdown;
mod sarif;

use crate::catalogue::Status;
use crate::catalogue::money_path::Scope;
use crate::catalogue::runner::CheckResult;
pub use gate::Unproven;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes a file atomically (a temporary file renamed into place), so that a reader never
/// sees half a report.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    atomic::write(path, bytes)
}

/// Renders `summary.md`.
pub fn render_markdown(report: &Report) -> String {
    markdown::render(report)
}

/// Renders `junit.xml`.
pub fn render_junit(report: &Report) -> String {
    junit::render(report)
}

/// Renders `report.sarif`.
pub fn render_sarif(report: &Report) -> String {
    sarif::render(report)
}

/// Renders `report.html`.
pub fn render_html(report: &Report) -> String {
    html::render(report)
}

/// The format version of `report.json`.
pub const REPORT_VERSION: &str = "paycheck-report/1";

/// The results of one suite against one target.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// Suite id, such as `x402-v2`.
    pub suite: String,
    /// The target's base URL.
    pub target: String,
    /// What the target was: `embedded`, `spawned` or `url`.
    pub target_kind: String,
    /// The money-path check ids this run selected: each must be graded for a pass.
    pub required: Vec<String>,
    /// Why no check could run on the target (it never answered), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
    /// Every check run, in order.
    pub results: Vec<CheckResult>,
}

impl SuiteReport {
    /// How many of its results have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version.
    pub version: &'static str,
    /// paycheck's version.
    pub paycheck: &'static str,
    /// True when the run was interrupted before every check ran.
    pub incomplete: bool,
    /// Whether SHOULD misses counted as failures.
    pub strict: bool,
    /// What the run set out to prove (`--profile`).
    pub scope: Scope,
    /// What a pass needs that the run did not prove (the fail-closed rule); a run with any
    /// entry here does not exit 0.
    pub unproven: Vec<Unproven>,
    /// Counts by status over every suite.
    pub totals: BTreeMap<Status, usize>,
    /// Wall time of the run.
    pub elapsed_ms: f64,
    /// Per suite.
    pub suites: Vec<SuiteReport>,
}

impl Report {
    /// A report of `suites`, with totals.
    pub fn new(suites: Vec<SuiteReport>, strict: bool, incomplete: bool, elapsed_ms: f64) -> Self {
        let mut totals = BTreeMap::new();
        for r in suites.iter().flat_map(|s| &s.results) {
            *totals.entry(r.status).or_insert(0) += 1;
        }
        let unproven = gate::unproven(&suites, Scope::Full, incomplete);
        Self {
            version: REPORT_VERSION,
            paycheck: env!("CARGO_PKG_VERSION"),
            incomplete,
            strict,
            scope: Scope::Full,
            unproven,
            totals,
            elapsed_ms,
            suites,
        }
    }

    /// The same report judged for `scope`.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self.unproven = gate::unproven(&self.suites, scope, self.incomplete);
        self
    }

    /// True when some suite could not run because its target never answered.
    pub fn target_unreachable(&self) -> bool {
        self.suites.iter().any(|s| s.target_error.is_some())
    }

    /// How many results have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.totals.get(&status).copied().unwrap_or(0)
    }

    /// How many checks graded the server (pass, fail or warn).
    pub fn graded(&self) -> usize {
        self.count(Status::Pass) + self.count(Status::Fail) + self.count(Status::Warn)
    }

    /// Writes every report file into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let files = [
            (
                "report.json",
                serde_json::to_string_pretty(self).expect("reports serialise") + "\n",
            ),
            ("junit.xml", junit::render(self)),
            ("summary.md", markdown::render(self)),
            ("report.sarif", sarif::render(self)),
            ("report.html", html::render(self)),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            atomic::write(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}
