//! L402 property tests against the embedded servers: the correct ones hold both properties
//! in both profiles; each credential fault is found and shrunk to a single edit of a paid
//! credential; the replay faults are found by the reuse property of their profile.

use paycheck::catalogue::{Ctx, Status};
use paycheck::payer::Payer;
use paycheck::props::l402::edits::CredEdit;
use paycheck::props::{PropsConfig, payload_property, replay_property};
use paycheck::protocol::L402Profile;
use paycheck::reference::l402::L402Fault;
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

/// An embedded L402 stack without an invoice rate limit: property runs pay an invoice per
/// case in the single-use profile.
async fn ctx_for(profile: L402Profile, fault: Option<L402Fault>) -> (Embedded, Arc<Ctx>) {
    let embedded = Embedded::start_l402_with(profile, |c| {
        c.fault = fault;
        c.invoice_rate = None;
    })
    .await
    .unwrap();
    let ctx = Arc::new(embedded.ctx(Duration::from_secs(5), Payer::test(0)));
    (embedded, ctx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_l402_servers_hold_every_property() {
    for profile in [L402Profile::Spec, L402Profile::SingleUse] {
        let (embedded, ctx) = ctx_for(profile, None).await;
        let payload = payload_property(&ctx, &config(300)).await;
        assert_eq!(
            payload.status,
            Status::Pass,
            "{profile:?}: {}",
            payload.message
        );
        assert!(
            payload.message.starts_with("300 generated cases held"),
            "{}",
            payload.message
        );
        let replay = replay_property(&ctx, &config(300)).await;
        assert_eq!(
            replay.status,
            Status::Pass,
            "{profile:?}: {}",
            replay.message
        );
        drop(ctx);
        embedded.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_faults_are_found_and_shrunk_to_one_edit() {
    for fault in [
        L402Fault::NoSignatureCheck,
        L402Fault::NoPreimageCheck,
        L402Fault::IgnoreCaveats,
        L402Fault::LenientCredentials,
        L402Fault::Malformed500,
    ] {
        let (embedded, ctx) = ctx_for(L402Profile::Spec, Some(fault)).await;
        let r = payload_property(&ctx, &config(300)).await;
        assert_eq!(
            r.status,
            Status::Fail,
            "{fault} was not found: {}",
            r.message
        );
        let json = r
            .actual
            .as_deref()
            .unwrap()
            .split("minimal case ")
            .nth(1)
            .expect("a minimal case");
        let edits: Vec<CredEdit> = serde_json::from_str(json).unwrap();
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
async fn replay_faults_are_found_by_their_profile() {
    for (profile, fault) in [
        (L402Profile::SingleUse, L402Fault::NoReplayStore),
        (L402Profile::SingleUse, L402Fault::RacyReplayStore),
        (L402Profile::Spec, L402Fault::ConsumeCredentials),
    ] {
        let (embedded, ctx) = ctx_for(profile, Some(fault)).await;
        let r = replay_property(&ctx, &config(300)).await;
        assert_eq!(
            r.status,
            Status::Fail,
            "{fault} was not found: {}",
            r.message
        );
        assert!(r.message.contains("minimal plan"), "{}", r.message);
        drop(ctx);
        embedded.stop().await;
    }
}
