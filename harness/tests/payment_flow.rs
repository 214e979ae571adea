//! Payment flows (`extra.paymentFlow`): an offer that declares `upfront` is graded by its
//! own rules (settle before the handler, no `/verify`, a failing handler after settlement
//! is documented behaviour); an offer that declares nothing is graded as `authorization`.

use paycheck::catalogue::runner::{CheckResult, Selection, run_suite, select};
use paycheck::catalogue::{Status, catalogue};
use paycheck::mocks::facilitator::journal::Endpoint;
use paycheck::payer::Payer;
use paycheck::protocol::{Dialect, Suite};
use paycheck::reference::ReferenceFault;
use paycheck::target::embedded::Embedded;
use std::time::Duration;

/// Runs `only` (every check when empty) of `dialect`'s suite strictly against an upfront
/// reference server built with `fault`; also returns how many `/verify` calls it made.
async fn run_upfront(
    dialect: Dialect,
    fault: Option<ReferenceFault>,
    only: &[&str],
) -> (Vec<CheckResult>, usize) {
    let embedded = Embedded::start_with(dialect, |c| {
        c.upfront = true;
        c.fault = fault;
    })
    .await
    .unwrap();
    let suite = Suite::X402(dialect);
    let selection = Selection {
        only: only
            .iter()
            .map(|id| format!("{}/{id}", suite.id()))
            .collect(),
        exclude: Vec::new(),
        strict: true,
    };
    let checks = select(catalogue(suite), &selection).unwrap();
    let mut ctx = embedded.ctx(Duration::from_secs(3), Payer::test(0));
    ctx.target.hang_window = Duration::from_secs(4);
    let mut results = Vec::new();
    run_suite(&ctx, &checks, true, |r| results.push(r)).await;
    let facilitator = embedded.facilitator.clone().unwrap();
    let verifies = facilitator
        .journal()
        .entries()
        .iter()
        .filter(|e| e.endpoint == Endpoint::Verify)
        .count();
    drop((ctx, facilitator));
    embedded.stop().await;
    (results, verifies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upfront_reference_passes_every_check_strictly_by_its_own_rules() {
    for dialect in [Dialect::X402V2, Dialect::X402V1] {
        let (results, _) = run_upfront(dialect, None, &[]).await;
        assert_eq!(results.len(), catalogue(Suite::X402(dialect)).len());
        for r in &results {
            // The verify faults do not apply to a flow that calls no /verify.
            let expected = if r.id.contains("/resilience/verify-") {
                Status::Unsupported
            } else {
                Status::Pass
            };
            assert_eq!(r.status, expected, "{}: {}", r.id, r.message);
        }
        let failing = results
            .iter()
            .find(|r| r.id.ends_with("payment/no-settle-on-handler-failure"))
            .unwrap();
        assert!(
            failing.message.contains("upfront flow"),
            "{}",
            failing.message
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upfront_payment_is_settled_without_verify() {
    let (results, verifies) =
        run_upfront(Dialect::X402V2, None, &["payment/verify-then-settle"]).await;
    assert_eq!(results[0].status, Status::Pass, "{}", results[0].message);
    assert_eq!(verifies, 0, "the upfront flow calls no /verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upfront_server_that_fails_open_is_caught() {
    // Upfront calls no /verify: a failed /settle, its first call, must not serve.
    let (results, _) = run_upfront(
        Dialect::X402V2,
        Some(ReferenceFault::FailOpen),
        &["resilience/settle-error", "resilience/settle-hang"],
    )
    .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.status, Status::Fail, "{}: {}", r.id, r.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_that_declares_nothing_is_graded_as_authorization() {
    // The same settle-before-handler behaviour, undeclared, is a MUST failure.
    let embedded = Embedded::start(Dialect::X402V2, Some(ReferenceFault::SettleBeforeHandler))
        .await
        .unwrap();
    let suite = Suite::X402(Dialect::X402V2);
    let selection = Selection {
        only: vec![format!(
            "{}/payment/no-settle-on-handler-failure",
            suite.id()
        )],
        exclude: Vec::new(),
        strict: false,
    };
    let checks = select(catalogue(suite), &selection).unwrap();
    let ctx = embedded.ctx(Duration::from_secs(3), Payer::test(0));
    let mut results = Vec::new();
    run_suite(&ctx, &checks, false, |r| results.push(r)).await;
    drop(ctx);
    embedded.stop().await;
    assert_eq!(results[0].status, Status::Fail, "{}", results[0].message);
}
