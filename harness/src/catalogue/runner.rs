//! Runs checks one after another against one target, and grades them by level.

use super::{Check, Ctx, Level, Need, Status};
use crate::target::Exchange;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;
use std::time::Instant;

/// Which checks to run and how to grade them.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run only ids matching one of these globs (all when empty).
    pub only: Vec<String>,
    /// Skip ids matching one of these globs.
    pub exclude: Vec<String>,
    /// Count SHOULD and best-practice misses as failures.
    pub strict: bool,
}

/// A graded check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Stable id.
    pub id: String,
    /// Section.
    pub section: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Level,
    /// The requirement sentence.
    pub requirement: String,
    /// Its source.
    pub source: String,
    /// The graded status.
    pub status: Status,
    /// What happened.
    pub message: String,
    /// Expected, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Actual, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Evidence.
    pub exchanges: Vec<Exchange>,
    /// How long the check took.
    pub elapsed_ms: f64,
}

fn globs(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad glob '{p}': {e}"))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// The checks the selection keeps, in order.
pub fn select(checks: Vec<Check>, selection: &Selection) -> Result<Vec<Check>, String> {
    let only = globs(&selection.only)?;
    let exclude = globs(&selection.exclude)?;
    Ok(checks
        .into_iter()
        .filter(|c| selection.only.is_empty() || only.is_match(&c.id))
        .filter(|c| !exclude.is_match(&c.id))
        .collect())
}

/// The first need of a check that the context cannot meet.
pub fn missing_need(ctx: &Ctx, needs: &[Need]) -> Option<Need> {
    needs.iter().copied().find(|n| match n {
        Need::Facilitator => ctx.facilitator.is_none(),
        Need::FreeRoute => ctx.target.free.is_none(),
        Need::FailingRoute => ctx.target.failing.is_none(),
        Need::TwoPrices => ctx.target.paid.len() < 2,
        Need::Lightning => ctx.lightning.is_none(),
    })
}

/// The graded status: a miss of anything below MUST is a warning unless strict, and a
/// lenient pass (reference SDK behaviour, not the letter) fails only when strict.
pub fn grade(level: Level, raw: Status, strict: bool) -> Status {
    match (raw, level, strict) {
        (Status::Fail, Level::Must, _) => Status::Fail,
        (Status::Fail, _, false) => Status::Warn,
        (Status::Warn, _, true) => Status::Fail,
        (other, _, _) => other,
    }
}

/// Runs one check.
pub async fn run_check(ctx: &Ctx, check: &Check, strict: bool) -> CheckResult {
    let start = Instant::now();
    let outcome = match missing_need(ctx, &check.needs) {
        Some(need) => super::Outcome::unsupported(need.how()),
        None if ctx.target.paid.is_empty() => {
            super::Outcome::unsupported("no paid route: pass --paid 'GET /premium'")
        }
        None => (check.run)(ctx).await,
    };
    CheckResult {
        id: check.id.clone(),
        section: check.section.clone(),
        title: check.title.clone(),
        level: check.level,
        requirement: check.requirement.clone(),
        source: check.source.clone(),
        status: grade(check.level, outcome.status, strict),
        message: outcome.message,
        expected: outcome.expected,
        actual: outcome.actual,
        exchanges: outcome.exchanges,
        elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
    }
}

/// Runs `checks` one after another, handing each result to `on_result` as it is known.
pub async fn run_suite(
    ctx: &Ctx,
    checks: &[Check],
    strict: bool,
    mut on_result: impl FnMut(CheckResult),
) {
    for check in checks {
        on_result(run_check(ctx, check, strict).await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grading_follows_level_and_strictness() {
        assert_eq!(grade(Level::Must, Status::Fail, false), Status::Fail);
        assert_eq!(grade(Level::Should, Status::Fail, false), Status::Warn);
        assert_eq!(grade(Level::Should, Status::Fail, true), Status::Fail);
        assert_eq!(grade(Level::Must, Status::Warn, false), Status::Warn);
        assert_eq!(grade(Level::Must, Status::Warn, true), Status::Fail);
        assert_eq!(grade(Level::Info, Status::Pass, true), Status::Pass);
        assert_eq!(
            grade(Level::Must, Status::Unsupported, true),
            Status::Unsupported
        );
    }

    #[test]
    fn selection_takes_globs() {
        let checks = super::super::catalogue(crate::protocol::Dialect::X402V2);
        let all = checks.len();
        let only = Selection {
            only: vec!["x402-v2/replay/*".into()],
            ..Default::default()
        };
        let picked = select(checks.clone(), &only).unwrap();
        assert!(!picked.is_empty() && picked.iter().all(|c| c.id.starts_with("x402-v2/replay/")));
        let exclude = Selection {
            exclude: vec!["*/resilience/*".into()],
            ..Default::default()
        };
        let rest = select(checks.clone(), &exclude).unwrap();
        assert!(rest.len() < all && rest.iter().all(|c| !c.id.contains("/resilience/")));
        assert!(
            select(
                checks,
                &Selection {
                    only: vec!["[".into()],
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        for d in crate::protocol::Suite::ALL {
            let checks = super::super::catalogue(d);
            let mut ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate ids in {d}");
            for c in &checks {
                assert!(c.id.starts_with(&format!("{}/", d.id())), "{}", c.id);
                assert!(
                    !c.requirement.is_empty() && !c.source.is_empty(),
                    "{}",
                    c.id
                );
            }
        }
    }
}
