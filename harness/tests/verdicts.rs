//! Verdicts a CI gate can trust: one defect is one failure (a receipt written with spaces, as
//! the Python SDK writes it, or a `mimeType: null`, fails one check and cascades nowhere);
//! a t402 v1 server is told from its answer and graded; a server paycheck cannot pay does
//! not exit 0 unless the run is scoped to the 402 signal.

mod common;

use common::spawned::bin;
use paycheck::catalogue::runner::{CheckResult, Selection, run_suite, select};
use paycheck::catalogue::{Level, Status, catalogue};
use paycheck::payer::Payer;
use paycheck::protocol::{Dialect, Suite};
use paycheck::reference::ReferenceFault;
use paycheck::target::Target;
use paycheck::target::embedded::Embedded;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Every check of `dialect`'s catalogue against its reference built with `fault`, graded
/// as by default (not strict).
async fn results(dialect: Dialect, fault: Option<ReferenceFault>) -> Vec<CheckResult> {
    let embedded = Embedded::start(dialect, fault).await.unwrap();
    let checks = select(catalogue(dialect), &Selection::default()).unwrap();
    let ctx = embedded.ctx(TIMEOUT, Payer::test(0));
    let mut out = Vec::new();
    run_suite(&ctx, &checks, false, |r| out.push(r)).await;
    drop(ctx);
    embedded.stop().await;
    out
}

fn with_status(results: &[CheckResult], status: Status) -> Vec<&str> {
    results
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.id.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_with_spaces_fails_no_must_and_warns_once() {
    let results = results(Dialect::X402V2, Some(ReferenceFault::SpacedReceipt)).await;
    assert!(
        with_status(&results, Status::Fail).is_empty(),
        "{results:#?}"
    );
    assert_eq!(
        with_status(&results, Status::Warn),
        ["x402-v2/payment/receipt-encoding"]
    );
    let served = results
        .iter()
        .find(|r| r.id == "x402-v2/payment/served")
        .unwrap();
    assert_eq!(served.status, Status::Pass, "{}", served.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_mime_type_is_one_failure_not_five() {
    let results = results(Dialect::X402V1, Some(ReferenceFault::NullMimeType)).await;
    assert_eq!(
        with_status(&results, Status::Fail),
        ["x402-v1/http/402-signal/requirements-schema"]
    );
    // The facilitator took the request and journaled the deviation; the paid flow ran.
    assert_eq!(
        with_status(&results, Status::Warn),
        ["x402-v1/payment/facilitator-request"]
    );
    for id in [
        "x402-v1/payment/served",
        "x402-v1/payment/verify-then-settle",
        "x402-v1/replay/sequential",
    ] {
        let r = results.iter().find(|r| r.id == id).unwrap();
        assert_eq!(r.status, Status::Pass, "{id}: {}", r.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_t402_v1_server_is_told_from_its_answer_and_graded() {
    let embedded = Embedded::start(Dialect::T402V1, None).await.unwrap();
    let mut ctx = embedded.ctx(TIMEOUT, Payer::test(0));
    // As a user names it: the t402 suite, whose default is version 2.
    ctx.target = {
        let mut t = Target::new(&embedded.url(), Dialect::T402, TIMEOUT);
        t.paid = ctx.target.paid.clone();
        t.free = ctx.target.free.clone();
        t.failing = ctx.target.failing.clone();
        t.queued = ctx.target.queued.clone();
        t
    };
    ctx.target.preflight().await.unwrap();
    assert_eq!(ctx.target.suite, Suite::X402(Dialect::T402V1));
    let checks = catalogue(ctx.target.suite);
    assert!(checks.iter().all(|c| c.id.starts_with("t402/")));
    let mut results = Vec::new();
    run_suite(&ctx, &checks, true, |r| results.push(r)).await;
    drop(ctx);
    embedded.stop().await;
    let not_passed: Vec<String> = results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| format!("{} {}: {}", r.id, r.status, r.message))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert!(results.len() >= 40, "{} checks", results.len());
}

/// `paycheck run` with `args`, its reports in a scratch directory: (exit code, stdout,
/// report.json).
fn run(tag: &str, args: &[&str]) -> (Option<i32>, String, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("paycheck-verdicts-{tag}-{}", std::process::id()));
    let out = Command::new(bin())
        .arg("run")
        .args(args)
        .arg("--report-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let report = std::fs::read(dir.join("report.json")).expect("report.json is written");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        serde_json::from_slice(&report).unwrap(),
    )
}

#[test]
fn the_t402_suite_passes_a_t402_v1_server_through_spawn() {
    let server = format!("{} serve-reference --protocol t402-v1", bin());
    let (code, stdout, report) = run(
        "t402-v1",
        &[
            "--suite",
            "t402",
            "--spawn",
            &server,
            "--paid",
            "GET /premium",
            "--paid",
            "POST /compute {}",
            "--free",
            "GET /health",
            "--failing",
            r#"POST /compute {"fail":true}"#,
            "--timeout",
            "3s",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}");
    let not_exercised = report["totals"]["not-exercised"].as_u64().unwrap_or(0);
    assert!(not_exercised <= 2, "{stdout}");
    assert!(report["unproven"].as_array().unwrap().is_empty());
}

/// A reference server started on its own (with its own mock facilitator, which paycheck
/// does not know): its URL, and the child to kill.
fn serve_reference() -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(bin())
        .args(["serve-reference", "--protocol", "x402-v2", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // The reader drains the server's output for its whole life: a closed pipe would end
    // the server at its next line.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("reference ") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server prints its URL");
    let url = line.rsplit(' ').next().unwrap().to_string();
    (child, url)
}

#[test]
fn a_server_paycheck_cannot_pay_fails_closed_unless_scoped_to_the_signal() {
    let (mut server, url) = serve_reference();
    let args = |profile: &'static str| {
        vec![
            "--suite".to_string(),
            "x402-v2".into(),
            "--target".into(),
            url.clone(),
            "--paid".into(),
            "GET /premium".into(),
            "--only".into(),
            "x402-v2/http/402-signal/*".into(),
            "--only".into(),
            "x402-v2/payment/served".into(),
            "--profile".into(),
            profile.into(),
        ]
    };
    let full = args("full");
    let (code, stdout, report) = run(
        "unpaid-full",
        &full.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let signal = args("signal-only");
    let (signal_code, signal_stdout, _) = run(
        "unpaid-signal",
        &signal.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let _ = server.kill();
    let _ = server.wait();
    // Every graded check passed, but the money path was not proven: no exit 0.
    assert_eq!(
        report["totals"]["fail"].as_u64().unwrap_or(0),
        0,
        "{stdout}"
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        report["unproven"][0]["id"], "x402-v2/payment/served",
        "{report}"
    );
    assert!(stdout.contains("NOT PROVEN"), "{stdout}");
    assert_eq!(signal_code, Some(0), "{signal_stdout}");
}

#[test]
fn levels_of_the_money_path_are_must() {
    for suite in Suite::ALL {
        for check in catalogue(suite) {
            let name = check.id.split_once('/').unwrap().1;
            if paycheck::catalogue::money_path::money_path(suite).contains(&name) {
                assert_eq!(check.level, Level::Must, "{}", check.id);
            }
        }
    }
}
