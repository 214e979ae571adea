//! `load.json` (versioned; JSON Schema in `schemas/load.schema.json`) and `load.md`. The
//! JSON carries each transaction's HDR histograms, so that `paycheck merge` can combine
//! shards exactly instead of averaging percentiles.

use super::metrics::{self, Measurements, TxnMeasure, Violation};
use super::open::PhaseCount;
use super::profile::{Engine, Model, Profile, Txn};
use super::thresholds::{Observed, Scope, Stat, Verdict};
use crate::catalogue::Status;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The format version of `load.json`.
pub const LOAD_VERSION: &str = "paycheck-load/1";

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Quantiles {
    /// The percentiles of a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_percentile(50.0)),
            p90: ms(h.value_at_percentile(90.0)),
            p95: ms(h.value_at_percentile(95.0)),
            p99: ms(h.value_at_percentile(99.0)),
            p99_9: ms(h.value_at_percentile(99.9)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// The overall numbers of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsBlock {
    /// Requests that finished.
    pub requests: u64,
    /// Requests finished per second.
    pub rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// Failed requests over requests.
    pub error_rate: f64,
    /// Arrivals dropped (too many requests in flight).
    pub dropped: u64,
    /// Paid or replay requests not sent: the pool of payments ran out.
    pub pool_exhausted: u64,
    /// Latency from each request's intended start, ms.
    pub latency_ms: Quantiles,
    /// Latency from each request's actual send, ms.
    pub uncorrected_ms: Quantiles,
    /// How late requests were sent after their intended start, ms.
    pub send_lag_ms: Quantiles,
}

/// One transaction's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxnReport {
    /// Requests that finished.
    pub requests: u64,
    /// Requests finished per second.
    pub rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// Failed requests over requests.
    pub error_rate: f64,
    /// Answers by status (`"0"`: no answer).
    pub statuses: BTreeMap<String, u64>,
    /// Failures by kind.
    pub violations: BTreeMap<String, u64>,
    /// The first few failures.
    pub examples: Vec<Violation>,
    /// Latency from the intended start, ms.
    pub latency_ms: Quantiles,
    /// Latency from the actual send, ms.
    pub uncorrected_ms: Quantiles,
    /// The corrected latency histogram (µs), HdrHistogram V2, deflated, base64.
    pub histogram: String,
    /// The uncorrected latency histogram, likewise.
    pub uncorrected_histogram: String,
}

/// One phase as it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Its name.
    pub name: String,
    /// How long it was meant to last, ms.
    pub duration_ms: u64,
    /// Open model: the arrival rate at its start and end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_rate: Option<[f64; 2]>,
    /// Closed model: its users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// Open model: arrivals scheduled.
    pub scheduled: u64,
    /// Open model: arrivals sent.
    pub sent: u64,
    /// Open model: arrivals dropped.
    pub dropped: u64,
    /// Open model: arrivals per second as actually sent, `(sent − 1)` over the time from
    /// the first send to the last (the target rate when on time).
    pub achieved_rate: f64,
}

/// One check of 402 correctness under load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadCheck {
    /// What it checks.
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// What happened.
    pub message: String,
    /// Answers that broke it.
    pub violations: u64,
}

/// The pool of payments made before the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolInfo {
    /// Fresh payments in it.
    pub payments: usize,
    /// How long making them took, ms.
    pub build_ms: f64,
}

/// This run's share of a sharded load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Its index, from 1.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

/// A whole load run (or several shards merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Format version.
    pub version: String,
    /// paycheck's version.
    pub paycheck: String,
    /// The profile's name.
    pub profile: String,
    /// The profile's description.
    pub description: String,
    /// The suite (protocol) of the server.
    pub suite: String,
    /// `open` or `closed`.
    pub model: Model,
    /// What ran it: `goose` or `paycheck`.
    pub engine: Engine,
    /// The server's base URL.
    pub target: String,
    /// `embedded`, `spawned` or `url`.
    pub target_kind: String,
    /// This run's share, when sharded.
    pub shard: Option<ShardInfo>,
    /// How many runs this report combines (1 unless merged).
    pub merged_from: u32,
    /// When the run started, Unix milliseconds.
    pub started_at_ms: u64,
    /// How long it ran, ms.
    pub elapsed_ms: f64,
    /// The payments made beforehand.
    pub pool: PoolInfo,
    /// True when Ctrl-C cut the run short.
    pub incomplete: bool,
    /// Why the run stopped before its schedule ended, if it did.
    pub stopped: Option<String>,
    /// Each phase.
    pub phases: Vec<PhaseReport>,
    /// The overall numbers.
    pub metrics: MetricsBlock,
    /// Per transaction.
    pub transactions: BTreeMap<String, TxnReport>,
    /// The send-lag histogram (µs), serialised like the latency ones.
    pub send_lag_histogram: String,
    /// 402 correctness under load.
    pub checks: Vec<LoadCheck>,
    /// The profile's thresholds, judged.
    pub thresholds: Vec<Verdict>,
    /// True when every threshold and check holds and the run was not cut short.
    pub passed: bool,
}

/// What [`LoadReport::new`] puts together.
pub struct Parts<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// The server's base URL.
    pub target: &'a str,
    /// What the target was.
    pub target_kind: &'a str,
    /// This run's share.
    pub shard: Option<(u32, u32)>,
    /// When it started.
    pub started_at: SystemTime,
    /// The pool.
    pub pool: PoolInfo,
    /// Each phase.
    pub phases: Vec<PhaseReport>,
    /// What was measured.
    pub measured: &'a Measurements,
    /// The checks.
    pub checks: Vec<LoadCheck>,
    /// The thresholds, judged.
    pub thresholds: Vec<Verdict>,
    /// Why the run stopped early.
    pub stopped: Option<String>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
}

/// The phases as they ran (`counts` is empty for a closed model).
pub fn phases(profile: &Profile, counts: &[PhaseCount]) -> Vec<PhaseReport> {
    profile
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = counts.get(i).cloned().unwrap_or_default();
            PhaseReport {
                name: p.name.clone(),
                duration_ms: p.duration.as_millis() as u64,
                target_rate: p.rate.map(|(a, b)| [a, b]),
                users: p.users.map(|(u, _)| u),
                scheduled: c.scheduled,
                sent: c.sent,
                dropped: c.dropped,
                achieved_rate: c.achieved_rate(),
            }
        })
        .collect()
}

fn txn_report(t: &TxnMeasure, elapsed: Duration) -> TxnReport {
    let requests = t.requests();
    TxnReport {
        requests,
        rps: requests as f64 / elapsed.as_secs_f64().max(1e-9),
        errors: t.errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            t.errors as f64 / requests as f64
        },
        statuses: t
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        violations: t.violations.clone(),
        examples: t.examples.clone(),
        latency_ms: Quantiles::of(&t.corrected),
        uncorrected_ms: Quantiles::of(&t.uncorrected),
        histogram: metrics::encode(&t.corrected),
        uncorrected_histogram: metrics::encode(&t.uncorrected),
    }
}

/// The overall numbers of what was measured.
pub fn metrics_block(m: &Measurements) -> MetricsBlock {
    let (all, all_uncorrected) = m.all();
    MetricsBlock {
        requests: m.requests(),
        rps: m.observe(Scope::All, Stat::Rps).unwrap_or(0.0),
        errors: m.errors(),
        error_rate: m.observe(Scope::All, Stat::ErrorRate).unwrap_or(0.0),
        dropped: m.dropped,
        pool_exhausted: m.pool_exhausted,
        latency_ms: Quantiles::of(&all),
        uncorrected_ms: Quantiles::of(&all_uncorrected),
        send_lag_ms: Quantiles::of(&m.lag),
    }
}

/// The transactions that ran or were in the mix.
pub fn transactions(m: &Measurements) -> BTreeMap<String, TxnReport> {
    Txn::ALL
        .iter()
        .filter(|t| m.txns[t.index()].requests() > 0)
        .map(|t| {
            (
                t.name().to_string(),
                txn_report(&m.txns[t.index()], m.elapsed),
            )
        })
        .collect()
}

impl LoadReport {
    /// A report of a finished run.
    pub fn new(p: Parts<'_>) -> Self {
        let mut r = Self {
            version: LOAD_VERSION.into(),
            paycheck: env!("CARGO_PKG_VERSION").into(),
            profile: p.profile.name.clone(),
            description: p.profile.description.clone(),
            suite: p.profile.suite.id().into(),
            model: p.profile.model,
            engine: p.profile.engine,
            target: p.target.into(),
            target_kind: p.target_kind.into(),
            shard: p.shard.map(|(index, count)| ShardInfo { index, count }),
            merged_from: 1,
            started_at_ms: p
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            elapsed_ms: p.measured.elapsed.as_secs_f64() * 1000.0,
            pool: p.pool,
            incomplete: p.interrupted,
            stopped: p.stopped,
            phases: p.phases,
            metrics: metrics_block(p.measured),
            transactions: transactions(p.measured),
            send_lag_histogram: metrics::encode(&p.measured.lag),
            checks: p.checks,
            thresholds: p.thresholds,
            passed: false,
        };
        r.passed = super::passed(&r);
        r
    }

    /// What the report measured, with its histograms read back.
    pub fn measurements(&self) -> Result<Measurements, String> {
        let mut txns: [TxnMeasure; 4] = Default::default();
        for t in Txn::ALL {
            let Some(r) = self.transactions.get(t.name()) else {
                continue;
            };
            let m = &mut txns[t.index()];
            m.corrected = metrics::decode(&r.histogram)?;
            m.uncorrected = metrics::decode(&r.uncorrected_histogram)?;
            for (s, n) in &r.statuses {
                let code: u16 = s
                    .parse()
                    .map_err(|_| format!("status '{s}' is not a number"))?;
                m.statuses.insert(code, *n);
            }
            m.errors = r.errors;
            m.violations = r.violations.clone();
            m.examples = r.examples.clone();
        }
        Ok(Measurements {
            elapsed: Duration::from_secs_f64(self.elapsed_ms / 1000.0),
            txns,
            dropped: self.metrics.dropped,
            pool_exhausted: self.metrics.pool_exhausted,
            lag: metrics::decode(&self.send_lag_histogram)?,
        })
    }

    /// Writes `load.json` and `load.md` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for (name, text) in [
            (
                "load.json",
                serde_json::to_string_pretty(self).expect("reports serialise") + "\n",
            ),
            ("load.md", render_markdown(self)),
        ] {
            let path = dir.join(name);
            crate::report::write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

fn mark(passed: bool) -> &'static str {
    if passed { "✔" } else { "✘" }
}

/// The Markdown summary (also what the console prints).
pub fn render_markdown(r: &LoadReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Load: {}{}\n",
        r.profile,
        if r.passed { "" } else { " (FAILED)" }
    );
    if !r.description.is_empty() {
        let _ = writeln!(out, "{}\n", r.description);
    }
    let shard = match (r.shard, r.merged_from) {
        (_, n) if n > 1 => format!(", {n} shards merged"),
        (Some(s), _) => format!(", shard {}/{}", s.index, s.count),
        (None, _) => String::new(),
    };
    let _ = writeln!(
        out,
        "{} {} model ({}) against {} ({}{shard}), {:.1} s; {} payments prepared in {:.0} ms.\n",
        r.suite,
        match r.model {
            Model::Open => "open",
            Model::Closed => "closed",
        },
        match r.engine {
            Engine::Goose => "goose",
            Engine::Paycheck => "paycheck",
        },
        r.target,
        r.target_kind,
        r.elapsed_ms / 1000.0,
        r.pool.payments,
        r.pool.build_ms
    );
    if let Some(why) = &r.stopped {
        let _ = writeln!(out, "**Stopped early**: {why}\n");
    }
    let m = &r.metrics;
    let _ = writeln!(
        out,
        "{} requests, {:.1}/s; {} errors ({:.3}%); {} arrivals dropped; {} not sent (pool spent).\n",
        m.requests,
        m.rps,
        m.errors,
        m.error_rate * 100.0,
        m.dropped,
        m.pool_exhausted
    );
    let _ = writeln!(
        out,
        "| transaction | requests | /s | errors | p50 | p95 | p99 | p99.9 | max | p99 uncorrected |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let row = |out: &mut String,
               name: &str,
               n: u64,
               rps: f64,
               errors: u64,
               q: &Quantiles,
               u: &Quantiles| {
        let _ = writeln!(
            out,
            "| {name} | {n} | {rps:.1} | {errors} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            q.p50, q.p95, q.p99, q.p99_9, q.max, u.p99
        );
    };
    for txn in Txn::ALL {
        if let Some(t) = r.transactions.get(txn.name()) {
            row(
                &mut out,
                txn.name(),
                t.requests,
                t.rps,
                t.errors,
                &t.latency_ms,
                &t.uncorrected_ms,
            );
        }
    }
    row(
        &mut out,
        "**all**",
        m.requests,
        m.rps,
        m.errors,
        &m.latency_ms,
        &m.uncorrected_ms,
    );
    let _ = match r.model {
        Model::Open => writeln!(
            out,
            "\nLatencies in ms, from each request's intended start (uncorrected: from its actual send); send lag p99 {:.2} ms.\n",
            m.send_lag_ms.p99
        ),
        Model::Closed => writeln!(
            out,
            "\nLatencies in ms; in a closed model each request starts when sent, so corrected and uncorrected agree.\n"
        ),
    };
    if !r.thresholds.is_empty() {
        let _ = writeln!(out, "## Thresholds\n");
        for v in &r.thresholds {
            let _ = writeln!(out, "- {v}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## 402 correctness under load\n");
    for c in &r.checks {
        let _ = writeln!(
            out,
            "- {} {}: {} ({})",
            match c.status {
                Status::Pass => "✔",
                Status::Fail => "✘",
                _ => "-",
            },
            c.name,
            c.message,
            c.status
        );
    }
    if r.phases.iter().any(|p| p.target_rate.is_some()) {
        let _ = writeln!(out, "\n## Phases\n");
        let _ = writeln!(
            out,
            "| phase | target /s | achieved /s | scheduled | sent | dropped |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for p in &r.phases {
            let target = p.target_rate.map_or(String::new(), |[a, b]| {
                if (a - b).abs() < f64::EPSILON {
                    format!("{a:.1}")
                } else {
                    format!("{a:.1} → {b:.1}")
                }
            });
            let _ = writeln!(
                out,
                "| {} | {target} | {:.1} | {} | {} | {} |",
                p.name, p.achieved_rate, p.scheduled, p.sent, p.dropped
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} {}",
        mark(r.passed),
        if r.passed { "passed" } else { "failed" }
    );
    out
}
