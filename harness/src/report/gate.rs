//! The fail-closed rule, applied to a run's results: what a passing run needs that this one
//! did not prove (see [`crate::catalogue::money_path`]).

use super::SuiteReport;
use crate::catalogue::money_path::Scope;
use crate::catalogue::{Level, Status};
use serde::Serialize;

/// One thing a pass needs that the run did not prove.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unproven {
    /// The check id, or the suite id when the whole suite could not run.
    pub id: String,
    /// The check's status, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Why it is not proven, and what input would prove it.
    pub why: String,
}

/// Everything the run did not prove, suite by suite.
pub fn unproven(suites: &[SuiteReport], scope: Scope, incomplete: bool) -> Vec<Unproven> {
    let mut out = Vec::new();
    for suite in suites {
        if let Some(e) = &suite.target_error {
            out.push(Unproven {
                id: suite.suite.clone(),
                status: None,
                why: format!("no check ran: {e}"),
            });
            continue;
        }
        let mut listed = |id: &str, status: Option<Status>, why: String| {
            if !out.iter().any(|u: &Unproven| u.id == id) {
                out.push(Unproven {
                    id: id.to_string(),
                    status,
                    why,
                });
            }
        };
        if scope == Scope::Full {
            for id in &suite.required {
                match suite.results.iter().find(|r| &r.id == id) {
                    Some(r) if r.status.graded() => {}
                    Some(r) => listed(id, Some(r.status), format!("money path: {}", r.message)),
                    None if !incomplete => listed(id, None, "money path: did not run".into()),
                    None => {}
                }
            }
        }
        for r in suite.results.iter().filter(|r| r.level == Level::Must) {
            let held = match r.status {
                Status::Error => true,
                Status::NotExercised => scope == Scope::Full,
                _ => false,
            };
            if held {
                listed(
                    &r.id,
                    Some(r.status),
                    format!("a MUST with no verdict: {}", r.message),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::runner::CheckResult;

    fn result(id: &str, level: Level, status: Status) -> CheckResult {
        CheckResult {
            id: id.into(),
            section: "s".into(),
            title: "t".into(),
            level,
            requirement: "r".into(),
            source: "s".into(),
            status,
            message: format!("{id} said so"),
            expected: None,
            actual: None,
            exchanges: Vec::new(),
            elapsed_ms: 0.0,
        }
    }

    fn suite(results: Vec<CheckResult>, required: &[&str]) -> SuiteReport {
        SuiteReport {
            suite: "x402-v2".into(),
            target: "http://127.0.0.1:1".into(),
            target_kind: "url".into(),
            required: required.iter().map(|s| s.to_string()).collect(),
            target_error: None,
            results,
        }
    }

    #[test]
    fn a_money_path_check_that_was_not_graded_is_unproven() {
        let s = suite(
            vec![
                result("x402-v2/payment/served", Level::Must, Status::Unsupported),
                result("x402-v2/http/402-signal/status", Level::Must, Status::Pass),
            ],
            &["x402-v2/payment/served"],
        );
        let found = unproven(std::slice::from_ref(&s), Scope::Full, false);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "x402-v2/payment/served");
        assert!(found[0].why.contains("served said so"), "{:?}", found[0]);
        assert!(unproven(&[s], Scope::SignalOnly, false).is_empty());
    }

    #[test]
    fn a_must_not_exercised_is_no_pass_and_an_error_never_is() {
        let s = suite(
            vec![
                result(
                    "x402-v2/rejection/expired",
                    Level::Must,
                    Status::NotExercised,
                ),
                result("x402-v2/http/hygiene/fast-402", Level::Must, Status::Error),
                result(
                    "x402-v2/http/hygiene/cors",
                    Level::Should,
                    Status::NotExercised,
                ),
            ],
            &[],
        );
        let ids = |scope| -> Vec<String> {
            unproven(std::slice::from_ref(&s), scope, false)
                .into_iter()
                .map(|u| u.id)
                .collect()
        };
        assert_eq!(
            ids(Scope::Full),
            ["x402-v2/rejection/expired", "x402-v2/http/hygiene/fast-402"]
        );
        assert_eq!(ids(Scope::SignalOnly), ["x402-v2/http/hygiene/fast-402"]);
    }

    #[test]
    fn a_scoped_away_check_is_not_required_and_a_dead_target_always_is() {
        let graded = suite(
            vec![result("x402-v2/payment/served", Level::Must, Status::Pass)],
            &["x402-v2/payment/served"],
        );
        assert!(unproven(&[graded], Scope::Full, false).is_empty());
        let missing = suite(Vec::new(), &["x402-v2/replay/sequential"]);
        assert_eq!(
            unproven(std::slice::from_ref(&missing), Scope::Full, false).len(),
            1
        );
        assert!(
            unproven(&[missing], Scope::Full, true).is_empty(),
            "interrupted: said elsewhere"
        );
        let mut dead = suite(Vec::new(), &[]);
        dead.target_error = Some("no answer".into());
        assert_eq!(unproven(&[dead], Scope::SignalOnly, false)[0].id, "x402-v2");
    }
}
