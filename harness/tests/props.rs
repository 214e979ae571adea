//! Property tests against the embedded servers: the correct ones hold every property over
//! hundreds of generated cases; each faulty build is found, and a payload fault shrinks to
//! a single edit of a valid payment.

use paycheck::catalogue::{Ctx, Status};
use paycheck::payer::Payer;
use paycheck::props::edits::Edit;
use paycheck::props::{PropsConfig, payload_property, replay_property};
use paycheck::protocol::Dialect;
use paycheck::reference::ReferenceFault;
use paycheck::target::embedded::Embedded;
use std::sync::Arc;
use std::time::Duration;

fn config(cases: u32) -> PropsConfig {
    PropsConfig {
        cases,
        seed: 402,
        budget: Duration::from_secs(120),
        regressions: None,
    }
}

async fn ctx_for(dialect: Dialect, fault: Option<ReferenceFault>) -> (Embedded, Arc<Ctx>) {
    let embedded = Embedded::start(dialect, fault).await.unwrap();
    let ctx = Arc::new(embedded.ctx(Duration::from_secs(5), Payer::test(0)));
    (embedded, ctx)
}

/// The minimal case a failed payload property reports.
fn minimal_edits(actual: &str) -> Vec<Edit> {
    let json = actual
        .split("minimal case ")
        .nth(1)
        .expect("a minimal case");
    serde_json::from_str(json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_servers_hold_every_property() {
    for dialect in Dialect::ALL {
        let (embedded, ctx) = ctx_for(dialect, None).await;
        let payload = payload_property(&ctx, &config(400)).await;
        assert_eq!(
            payload.status,
            Status::Pass,
            "{dialect}: {}",
            payload.message
        );
        assert!(
            payload.message.starts_with("400 generated cases held"),
            "{}",
            payload.message
        );
        let replay = replay_property(&ctx, &config(400)).await;
        assert_eq!(replay.status, Status::Pass, "{dialect}: {}", replay.message);
        drop(ctx);
        embedded.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_faults_are_found_and_shrunk_to_one_edit() {
    for fault in [
        ReferenceFault::ServeInvalid,
        ReferenceFault::TrustClientOffer,
        ReferenceFault::Malformed500,
    ] {
        let (embedded, ctx) = ctx_for(Dialect::X402V2, Some(fault)).await;
        let r = payload_property(&ctx, &config(400)).await;
        assert_eq!(
            r.status,
            Status::Fail,
            "{fault} was not found: {}",
            r.message
        );
        let edits = minimal_edits(r.actual.as_deref().unwrap());
        assert_eq!(edits.len(), 1, "{fault}: not shrunk to one edit: {edits:?}");
        assert!(
            r.message.contains("reproduce: curl -i -X GET"),
            "{}",
            r.message
        );
        drop(ctx);
        embedded.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_faults_are_found() {
    for fault in [
        ReferenceFault::ReplayCache,
        ReferenceFault::ServeBeforeSettle,
    ] {
        let (embedded, ctx) = ctx_for(Dialect::X402V2, Some(fault)).await;
        let r = replay_property(&ctx, &config(400)).await;
        assert_eq!(
            r.status,
            Status::Fail,
            "{fault} was not found: {}",
            r.message
        );
        drop(ctx);
        embedded.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_regression_is_replayed_first() {
    let dir = std::env::temp_dir().join(format!("paycheck-regressions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (embedded, ctx) = ctx_for(Dialect::X402V2, Some(ReferenceFault::ServeInvalid)).await;
    let mut cfg = config(400);
    cfg.regressions = Some(dir.clone());
    let first = payload_property(&ctx, &cfg).await;
    assert_eq!(first.status, Status::Fail);
    assert!(dir.join("x402-v2.jsonl").exists());
    let again = payload_property(&ctx, &cfg).await;
    assert!(
        again.message.contains("a stored regression"),
        "{}",
        again.message
    );
    drop(ctx);
    embedded.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

const PROPS_SCENARIO: &str = r#"
id = "props/payload-small"
suites = ["x402-v2"]
title = "300 generated payments are judged safely"
level = "MUST"
requirement = "A payment that is wrong in any way is never served."
source = "x402-specification-v2.md §6.1.2"

[props]
property = "payload"
cases = 300
seed = 9
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_props_section_in_a_scenario_file_runs_the_property() {
    let scenario = paycheck::scenario::parse("props.toml", PROPS_SCENARIO).unwrap();
    let check = scenario.check(Dialect::X402V2.into()).unwrap();
    for (fault, expected) in [
        (None, Status::Pass),
        (Some(ReferenceFault::ServeInvalid), Status::Fail),
    ] {
        let (embedded, ctx) = ctx_for(Dialect::X402V2, fault).await;
        let r = paycheck::catalogue::runner::run_check(&ctx, &check, false).await;
        assert_eq!(r.status, expected, "{fault:?}: {}", r.message);
        drop(ctx);
        embedded.stop().await;
    }
    let both =
        format!("{PROPS_SCENARIO}\n[[step]]\nname = \"a\"\nrequest = {{ route = \"paid\" }}\n");
    assert!(
        paycheck::scenario::parse("props.toml", &both)
            .unwrap_err()
            .message
            .contains("not both")
    );
}
