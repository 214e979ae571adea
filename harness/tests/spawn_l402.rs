//! `paycheck run --suite l402 --spawn CMD --paid 'GET /premium' --free 'GET /health'`
//! exits 0 on the embedded L402 reference and 1 on each of its faulty builds, naming the
//! check that caught it.

use paycheck::catalogue::catalogue;
use paycheck::protocol::Suite;
use paycheck::reference::l402::L402Fault;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_paycheck")
}

/// The suite whose catalogue holds the fault's intended checks (replay checks differ).
fn suite_for(fault: L402Fault) -> &'static str {
    let in_spec = catalogue(Suite::L402(paycheck::protocol::L402Profile::Spec))
        .iter()
        .any(|c| c.id == format!("l402/{}", fault.caught_by()[0]));
    if in_spec { "l402" } else { "l402-single-use" }
}

fn run_spawned(suite: &str, fault: Option<L402Fault>, extra: &[&str]) -> Output {
    let mut server = format!(
        "{} serve-reference --protocol {suite} --lightning-timeout 750ms",
        bin()
    );
    if let Some(f) = fault {
        server.push_str(&format!(" --fault {f}"));
    }
    let dir = std::env::temp_dir().join(format!(
        "paycheck-spawn-{suite}-{}-{}",
        fault.map_or("correct", L402Fault::name),
        std::process::id()
    ));
    let out = Command::new(bin())
        .args([
            "run",
            "--suite",
            suite,
            "--spawn",
            &server,
            "--timeout",
            "3s",
        ])
        .args([
            "--paid",
            "GET /premium",
            "--free",
            "GET /health",
            "--strict",
        ])
        .arg("--report-dir")
        .arg(&dir)
        .args(extra)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
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
    let results: Vec<(L402Fault, Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = L402Fault::ALL
            .chunks(6)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|f| {
                            let suite = suite_for(*f);
                            let only: Vec<String> = f
                                .caught_by()
                                .iter()
                                .map(|c| format!("{suite}/{c}"))
                                .collect();
                            let mut extra = Vec::new();
                            for id in &only {
                                extra.push("--only");
                                extra.push(id.as_str());
                            }
                            (*f, run_spawned(suite, Some(*f), &extra))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (fault, out) in results {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{fault}: {stdout}");
        let first = fault.caught_by()[0].rsplit('/').next().unwrap();
        assert!(
            stdout.contains(&format!("✘ {first}:")),
            "{fault} not named: {stdout}"
        );
    }
}
