//! Runs checks one after another against one target, and grades them by level.

use super::{Check, Ctx, Level, Need, Outcome, Status};
use crate::target::Exchange;
use crate::target::tally::{Tally, tallied};
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
        Need::QueuedRoute => ctx.target.queued.is_none(),
        Need::Replicas => ctx.replicas.is_empty(),
        Need::Restart => ctx.restart.is_none(),
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

/// A pass or a warning stands only on whole answers: when the server never answered, or
/// one of the check's answers broke off (and the check did not say it grades silence),
/// the outcome is an error that names the broken exchange. Failures stand as they are.
pub fn answered_or_error(outcome: Outcome, tally: Tally) -> Outcome {
    no_verdict(outcome.status, &outcome.message, tally).unwrap_or(outcome)
}

/// The error that replaces a pass or warning (`status`, saying `message`) that stands on
/// no answer or a broken one, if it does (see [`answered_or_error`]).
pub fn no_verdict(status: Status, message: &str, tally: Tally) -> Option<Outcome> {
    if !matches!(status, Status::Pass | Status::Warn) {
        return None;
    }
    match tally.first_broken {
        Some(ex) => Some(
            Outcome::error(format!(
                "no verdict: {} to {} {} (the check would have said: {message})",
                ex.describe(),
                ex.method,
                ex.url,
            ))
            .with(&ex),
        ),
        None if tally.answered == 0 => Some(Outcome::error(format!(
            "no verdict: the check got no answer from the server (it would have said: {message})"
        ))),
        None => None,
    }
}

/// A check result whose exchanges were `tally`: an error instead, when its pass or
/// warning stands on no answer or a broken one (for results made outside [`run_check`],
/// such as the property tests').
pub fn result_answered_or_error(mut result: CheckResult, tally: Tally) -> CheckResult {
    if let Some(o) = no_verdict(result.status, &result.message, tally) {
        result.status = o.status;
        result.message = o.message;
        result.exchanges = o.exchanges;
    }
    result
}

/// Runs one check.
pub async fn run_check(ctx: &Ctx, check: &Check, strict: bool) -> CheckResult {
    let start = Instant::now();
    let outcome = match missing_need(ctx, &check.needs) {
        Some(need) => super::Outcome::unsupported(need.how()),
        None if ctx.target.paid.is_empty() => {
            super::Outcome::unsupported("no paid route: pass --paid 'GET /premium'")
        }
        None => {
            let (outcome, tally) = tallied((check.run)(ctx)).await;
            answered_or_error(outcome, tally)
        }
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

    fn tally(answered: usize, broken: Option<Exchange>) -> Tally {
        Tally {
            answered,
            first_broken: broken,
        }
    }

    /// An exchange with a port nobody listens on (bound, then let go): refused.
    fn broken_exchange() -> Exchange {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let target = crate::target::Target::new(
            &format!("http://127.0.0.1:{port}"),
            crate::protocol::Dialect::X402V2,
            std::time::Duration::from_secs(1),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(target.send(&"GET /x".parse().unwrap(), None, &[]))
    }

    #[test]
    fn a_pass_stands_only_on_whole_answers() {
        let pass = || Outcome::pass("looks fine");
        assert_eq!(
            answered_or_error(pass(), tally(2, None)).status,
            Status::Pass
        );
        let never = answered_or_error(pass(), tally(0, None));
        assert_eq!(never.status, Status::Error);
        assert!(never.message.contains("no answer"), "{}", never.message);
        let ex = broken_exchange();
        assert!(!ex.answered());
        let broken = answered_or_error(Outcome::lenient("a", "b"), tally(3, Some(ex)));
        assert_eq!(broken.status, Status::Error);
        assert_eq!(broken.exchanges.len(), 1);
        let fail = Outcome::fail("a 402", "no answer");
        assert_eq!(answered_or_error(fail, tally(0, None)).status, Status::Fail);
    }

    #[test]
    fn a_property_that_held_on_broken_answers_is_an_error() {
        let held = CheckResult {
            id: "x402-v2/props/replay".into(),
            section: "props".into(),
            title: "t".into(),
            level: Level::Must,
            requirement: "r".into(),
            source: "s".into(),
            status: Status::Pass,
            message: "500 plans held".into(),
            expected: None,
            actual: None,
            exchanges: Vec::new(),
            elapsed_ms: 0.0,
        };
        let r = result_answered_or_error(held.clone(), tally(40, Some(broken_exchange())));
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains("500 plans held") && r.exchanges.len() == 1);
        assert_eq!(
            result_answered_or_error(held, tally(40, None)).status,
            Status::Pass
        );
    }

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
