//! The mutation matrix: the correct reference server passes every check (strictly), and
//! each faulty build fails the checks written to catch its fault. Every check of every
//! suite is the intended catch of at least one faulty build.

use futures::StreamExt;
use paycheck::catalogue::runner::{CheckResult, Selection, run_suite, select};
use paycheck::catalogue::{Ctx, Status, catalogue};
use paycheck::payer::Payer;
use paycheck::protocol::Dialect;
use paycheck::reference::ReferenceFault;
use paycheck::target::embedded::Embedded;
use std::collections::BTreeSet;
use std::time::Duration;

/// Requests in the matrix give up after this (the `no-timeout` build needs it to be short).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// The intended checks of `fault` that exist in `dialect`'s catalogue, as full ids.
fn intended_ids(dialect: Dialect, fault: ReferenceFault) -> Vec<String> {
    let ids: BTreeSet<String> = catalogue(dialect).into_iter().map(|c| c.id).collect();
    fault
        .caught_by()
        .iter()
        .map(|name| format!("{}/{name}", dialect.id()))
        .filter(|id| ids.contains(id))
        .collect()
}

async fn run(
    dialect: Dialect,
    fault: Option<ReferenceFault>,
    only: Vec<String>,
) -> Vec<CheckResult> {
    let embedded = Embedded::start(dialect, fault).await.unwrap();
    let selection = Selection {
        only,
        exclude: Vec::new(),
        strict: true,
    };
    let checks = select(catalogue(dialect), &selection).unwrap();
    let ctx = Ctx {
        target: embedded.target(REQUEST_TIMEOUT),
        facilitator: Some(embedded.facilitator.clone()),
        payer: Payer::test(0),
    };
    let mut results = Vec::new();
    run_suite(&ctx, &checks, true, |r| results.push(r)).await;
    drop(ctx);
    embedded.stop().await;
    results
}

#[test]
fn every_check_is_the_intended_catch_of_some_faulty_build() {
    for dialect in Dialect::ALL {
        let caught: BTreeSet<String> = ReferenceFault::ALL
            .into_iter()
            .flat_map(|f| intended_ids(dialect, f))
            .collect();
        for check in catalogue(dialect) {
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
    for dialect in Dialect::ALL {
        let results = run(dialect, None, Vec::new()).await;
        assert_eq!(results.len(), catalogue(dialect).len());
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
    for dialect in Dialect::ALL {
        for fault in ReferenceFault::ALL {
            let ids = intended_ids(dialect, fault);
            if !ids.is_empty() {
                runs.push((dialect, fault, ids));
            }
        }
    }
    // Four builds at a time: enough to overlap the waits, few enough for two cores.
    let outcomes: Vec<_> =
        futures::stream::iter(runs.into_iter().map(|(dialect, fault, ids)| async move {
            let results = run(dialect, Some(fault), ids.clone()).await;
            (dialect, fault, ids, results)
        }))
        .buffer_unordered(4)
        .collect()
        .await;
    let mut missed = Vec::new();
    for (dialect, fault, ids, results) in outcomes {
        assert_eq!(results.len(), ids.len(), "{dialect} {fault}");
        for r in results {
            if r.status != Status::Fail {
                missed.push(format!(
                    "{dialect} built with {fault}: {} was {} ({})",
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
