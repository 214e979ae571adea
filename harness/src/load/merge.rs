//! `paycheck merge`: shards of one load profile combined exactly. The histograms are
//! added (not the percentiles averaged), counts and phases summed, and the thresholds
//! judged again on the merged measurements. Shards run side by side, so the merged run
//! lasts as long as the longest shard.

use super::metrics::Measurements;
use super::report::{self, LOAD_VERSION, LoadCheck, LoadReport};
use crate::catalogue::Status;

/// Why reports cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// The merged outcome of one check over every shard: a failure anywhere fails it.
fn merge_checks(reports: &[LoadReport]) -> Vec<LoadCheck> {
    reports[0]
        .checks
        .iter()
        .map(|first| {
            let same: Vec<&LoadCheck> = reports
                .iter()
                .filter_map(|r| r.checks.iter().find(|c| c.name == first.name))
                .collect();
            let violations = same.iter().map(|c| c.violations).sum();
            let status = if same.iter().any(|c| c.status == Status::Fail) {
                Status::Fail
            } else if same.iter().any(|c| c.status == Status::Pass) {
                Status::Pass
            } else {
                first.status
            };
            LoadCheck {
                name: first.name.clone(),
                status,
                message: format!(
                    "{violations} violation(s) over {} shard(s); {}",
                    same.len(),
                    same.iter()
                        .map(|c| c.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                violations,
            }
        })
        .collect()
}

/// Merges shard reports of one profile.
pub fn merge(reports: &[LoadReport]) -> Result<LoadReport, MergeError> {
    let first = reports
        .first()
        .ok_or_else(|| MergeError("nothing to merge: name load.json files".into()))?;
    for r in reports {
        if r.version != LOAD_VERSION {
            return Err(MergeError(format!(
                "a report has version '{}'; this paycheck merges {LOAD_VERSION}",
                r.version
            )));
        }
        if r.profile != first.profile
            || r.suite != first.suite
            || r.model != first.model
            || r.engine != first.engine
        {
            return Err(MergeError(format!(
                "the reports are of different runs: profile '{}' ({}) and '{}' ({})",
                first.profile, first.suite, r.profile, r.suite
            )));
        }
    }
    let mut merged: Measurements = first.measurements().map_err(MergeError)?;
    for r in &reports[1..] {
        let m = r.measurements().map_err(MergeError)?;
        for (into, from) in merged.txns.iter_mut().zip(m.txns.iter()) {
            into.merge(from);
        }
        merged.dropped += m.dropped;
        merged.pool_exhausted += m.pool_exhausted;
        merged.lag.add(&m.lag).expect("same bounds");
        merged.elapsed = merged.elapsed.max(m.elapsed);
    }
    let mut phases = first.phases.clone();
    for r in &reports[1..] {
        for (p, q) in phases.iter_mut().zip(&r.phases) {
            p.scheduled += q.scheduled;
            p.sent += q.sent;
            p.dropped += q.dropped;
            p.achieved_rate += q.achieved_rate;
            p.target_rate = match (p.target_rate, q.target_rate) {
                (Some([a, b]), Some([c, d])) => Some([a + c, b + d]),
                (x, _) => x,
            };
            p.users = match (p.users, q.users) {
                (Some(a), Some(b)) => Some(a + b),
                (x, _) => x,
            };
        }
    }
    let thresholds = first
        .thresholds
        .iter()
        .map(|v| v.threshold.judge(&merged))
        .collect();
    let stopped: Vec<String> = reports.iter().filter_map(|r| r.stopped.clone()).collect();
    let mut out = LoadReport {
        shard: None,
        merged_from: reports.iter().map(|r| r.merged_from).sum(),
        started_at_ms: reports.iter().map(|r| r.started_at_ms).min().unwrap_or(0),
        elapsed_ms: merged.elapsed.as_secs_f64() * 1000.0,
        pool: report::PoolInfo {
            payments: reports.iter().map(|r| r.pool.payments).sum(),
            build_ms: reports.iter().map(|r| r.pool.build_ms).fold(0.0, f64::max),
        },
        incomplete: reports.iter().any(|r| r.incomplete),
        stopped: (!stopped.is_empty()).then(|| stopped.join("; ")),
        phases,
        metrics: report::metrics_block(&merged),
        transactions: report::transactions(&merged),
        send_lag_histogram: super::metrics::encode(&merged.lag),
        checks: merge_checks(reports),
        thresholds,
        passed: false,
        ..first.clone()
    };
    out.passed = super::passed(&out);
    Ok(out)
}
