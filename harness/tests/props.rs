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
    let ctx = Arc::new(Ctx {
        target: embedded.target(Duration::from_secs(5)),
        facilitator: Some(embedded.facilitator.clone()),
        payer: Payer::test(0),
    });
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
        let payload = payload_property(ctx.clone(), &config(400)).await;
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
        let replay = replay_property(ctx.clone(), &config(400)).await;
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
        let r = payload_property(ctx.clone(), &config(400)).await;
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
        let r = replay_property(ctx.clone(), &config(400)).await;
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
    let first = payload_property(ctx.clone(), &cfg).await;
    assert_eq!(first.status, Status::Fail);
    assert!(dir.join("x402-v2.jsonl").exists());
    let again = payload_property(ctx.clone(), &cfg).await;
    assert!(
        again.message.contains("a stored regression"),
        "{}",
        again.message
    );
    drop(ctx);
    embedded.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
