//! `paycheck run --suite l402 --spawn CMD --paid 'GET /premium' --free 'GET /health'`
//! exits 0 on the embedded L402 reference and 1 on each of its faulty builds, naming the
//! check that caught it.

mod common;

use common::spawned::{self, assert_caught, bin, in_parallel, only};
use paycheck::catalogue::catalogue;
use paycheck::protocol::Suite;
use paycheck::reference::l402::L402Fault;
use std::process::Output;

/// The suite whose catalogue holds the fault's intended checks (replay checks differ).
fn suite_for(fault: L402Fault) -> &'static str {
    let in_spec = catalogue(Suite::L402(paycheck::protocol::L402Profile::Spec))
        .iter()
        .any(|c| c.id == format!("l402/{}", fault.caught_by()[0]));
    if in_spec { "l402" } else { "l402-single-use" }
}

/// The L402 reference of `suite` (`fault` built in, if any) through `run --spawn`.
fn run_spawned(suite: &str, fault: Option<L402Fault>, extra: &[String]) -> Output {
    let mut server = format!(
        "{} serve-reference --protocol {suite} --lightning-timeout 750ms",
        bin()
    );
    if let Some(f) = fault {
        server.push_str(&format!(" --fault {f}"));
    }
    let mut args = vec!["--paid", "GET /premium", "--free", "GET /health"];
    args.extend(extra.iter().map(String::as_str));
    let tag = fault.map_or("correct", L402Fault::name);
    spawned::run_spawned(suite, &server, tag, &args)
}

#[test]
fn the_correct_l402_references_pass_through_spawn() {
    for suite in ["l402", "l402-single-use"] {
        let out = run_spawned(suite, None, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{suite}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("0 failed, 0 warned"), "{stdout}");
        assert!(stdout.contains("✔ paid-accepted"), "{stdout}");
    }
}

#[test]
fn every_faulty_l402_build_exits_1_naming_its_check() {
    let results = in_parallel(&L402Fault::ALL, |f| {
        let suite = suite_for(f);
        run_spawned(suite, Some(f), &only(suite, f.caught_by()))
    });
    for (fault, out) in results {
        assert_caught(fault, fault.caught_by()[0], &out);
    }
}
