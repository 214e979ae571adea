//! The mutation matrix: the correct reference servers pass every check of every suite
//! (strictly), and each faulty build fails the checks written to catch its fault. Every
//! check of every suite is the intended catch of at least one faulty build.

use futures::StreamExt;
use paycheck::catalogue::runner::{CheckResult, Selection, run_suite, select};
use paycheck::catalogue::{Status, catalogue};
use paycheck::payer::Payer;
use paycheck::protocol::Suite;
use paycheck::reference::ReferenceFault;
use paycheck::reference::l402::L402Fault;
use paycheck::target::embedded::Embedded;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// Requests in the matrix give up after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Requests while a backend hangs give up after this (the `no-timeout` build waits it out).
const HANG_WINDOW: Duration = Duration::from_secs(4);

/// A faulty build of a suite's reference server.
#[derive(Debug, Clone, Copy)]
enum Fault {
    X402(ReferenceFault),
    L402(L402Fault),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::X402(x) => x.fmt(f),
            Fault::L402(x) => x.fmt(f),
        }
    }
}

/// The faulty builds of a suite's reference server.
fn faults(suite: Suite) -> Vec<Fault> {
    match suite {
        Suite::X402(_) => ReferenceFault::ALL.map(Fault::X402).to_vec(),
        Suite::L402(_) => L402Fault::ALL.map(Fault::L402).to_vec(),
    }
}

/// The intended checks of `fault` that exist in `suite`'s catalogue, as full ids.
fn intended_ids(suite: Suite, fault: Fault) -> Vec<String> {
    let ids: BTreeSet<String> = catalogue(suite).into_iter().map(|c| c.id).collect();
    let names = match fault {
        Fault::X402(f) => f.caught_by(),
        Fault::L402(f) => f.caught_by(),
    };
    names
        .iter()
        .map(|name| format!("{}/{name}", suite.id()))
        .filter(|id| ids.contains(id))
        .collect()
}

async fn run(suite: Suite, fault: Option<Fault>, only: Vec<String>) -> Vec<CheckResult> {
    let embedded = match (suite, fault) {
        (Suite::X402(d), Some(Fault::X402(f))) => Embedded::start(d, Some(f)).await,
        (Suite::L402(p), Some(Fault::L402(f))) => Embedded::start_l402(p, Some(f)).await,
        (_, None) => Embedded::start_suite(suite).await,
        _ => unreachable!("faults are listed per suite"),
    }
    .unwrap();
    let selection = Selection {
        only,
        exclude: Vec::new(),
        strict: true,
    };
    let checks = select(catalogue(suite), &selection).unwrap();
    let mut ctx = embedded.ctx(REQUEST_TIMEOUT, Payer::test(0));
    ctx.target.hang_window = HANG_WINDOW;
    let mut results = Vec::new();
    run_suite(&ctx, &checks, true, |r| results.push(r)).await;
    drop(ctx);
    embedded.stop().await;
    results
}

#[test]
fn every_check_is_the_intended_catch_of_some_faulty_build() {
    for suite in Suite::ALL {
        let caught: BTreeSet<String> = faults(suite)
            .into_iter()
            .flat_map(|f| intended_ids(suite, f))
            .collect();
        for check in catalogue(suite) {
            assert!(
                caught.contains(&check.id),
                "{} has no faulty build that it catches",
                check.id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_servers_pass_every_check_strictly() {
    for suite in Suite::ALL {
        let results = run(suite, None, Vec::new()).await;
        assert_eq!(results.len(), catalogue(suite).len());
        for r in &results {
            assert_eq!(
                r.status,
                Status::Pass,
                "{}: {} {:?}",
                r.id,
                r.message,
                r.exchanges.first().map(|e| &e.body)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_faulty_build_fails_its_intended_checks() {
    let mut runs = Vec::new();
    for suite in Suite::ALL {
        for fault in faults(suite) {
            let ids = intended_ids(suite, fault);
            if !ids.is_empty() {
                runs.push((suite, fault, ids));
            }
        }
    }
    // Four builds at a time: enough to overlap the waits, few enough for two cores.
    let outcomes: Vec<_> =
        futures::stream::iter(runs.into_iter().map(|(suite, fault, ids)| async move {
            let results = run(suite, Some(fault), ids.clone()).await;
            (suite, fault, ids, results)
        }))
        .buffer_unordered(4)
        .collect()
        .await;
    let mut missed = Vec::new();
    for (suite, fault, ids, results) in outcomes {
        assert_eq!(results.len(), ids.len(), "{suite} {fault}");
        for r in results {
            if r.status != Status::Fail {
                missed.push(format!(
                    "{suite} built with {fault}: {} was {} ({})",
                    r.id, r.status, r.message
                ));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "checks that did not catch their fault:\n{}",
        missed.join("\n")
    );
}
