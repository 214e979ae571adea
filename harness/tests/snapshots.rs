//! `paycheck snapshot`: record then check is clean; a price change is a diff naming the
//! amount; --accept records it; the committed snapshots of the embedded servers hold.

use std::path::PathBuf;
use std::process::{Command, Output};

fn paycheck(args: &[&str], dir: &std::path::Path) -> Output {
    let reports = dir.join("reports");
    Command::new(env!("CARGO_BIN_EXE_paycheck"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap()
}

#[test]
fn record_check_change_accept_check() {
    let dir = std::env::temp_dir().join(format!("paycheck-snapshots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = paycheck(&["snapshot", "record", "--suite", "x402-v2"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(dir.join("x402-v2__get-premium__unpaid.snap").exists());

    let out = paycheck(&["snapshot", "check", "--suite", "x402-v2"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "two runs against an unchanged server are identical"
    );

    let out = paycheck(
        &[
            "snapshot",
            "check",
            "--suite",
            "x402-v2",
            "--premium-price",
            "20000",
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("-        \"amount\": \"10000\",")
            && stdout.contains("+        \"amount\": \"20000\","),
        "{stdout}"
    );
    assert!(stdout.contains("✘ unpaid"), "{stdout}");
    assert!(
        dir.join("x402-v2__get-premium__unpaid.snap.new").exists(),
        "a pending file for review"
    );

    let out = paycheck(
        &[
            "snapshot",
            "record",
            "--suite",
            "x402-v2",
            "--premium-price",
            "20000",
        ],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "record refuses a change without --accept"
    );
    let out = paycheck(
        &[
            "snapshot",
            "record",
            "--accept",
            "--suite",
            "x402-v2",
            "--premium-price",
            "20000",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!dir.join("x402-v2__get-premium__unpaid.snap.new").exists());
    let out = paycheck(
        &[
            "snapshot",
            "check",
            "--suite",
            "x402-v2",
            "--premium-price",
            "20000",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_committed_snapshots_of_the_embedded_servers_hold() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/snapshots/embedded");
    let reports =
        std::env::temp_dir().join(format!("paycheck-snapshot-reports-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_paycheck"))
        .args(["snapshot", "check", "--dir"])
        .arg(&dir)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&reports);
}

#[test]
fn l402_snapshots_show_a_price_change_in_the_invoice_and_redact_by_jsonpath() {
    let dir = std::env::temp_dir().join(format!("paycheck-snapshots-l402-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = paycheck(&["snapshot", "record", "--suite", "l402"], &dir);
    assert_eq!(out.status.code(), Some(0));
    let unpaid = std::fs::read_to_string(dir.join("l402__get-premium__unpaid.snap")).unwrap();
    assert!(
        unpaid.contains("\"amount_msat\": 100000") && unpaid.contains("\"network\": \"regtest\""),
        "the decoded invoice is in the snapshot: {unpaid}"
    );
    assert!(
        !unpaid.contains("lnbcrt"),
        "the invoice text is redacted: {unpaid}"
    );
    let out = paycheck(&["snapshot", "check", "--suite", "l402"], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "unchanged server, unchanged files"
    );

    let changed = [
        "snapshot",
        "check",
        "--suite",
        "l402",
        "--premium-price",
        "150",
    ];
    let out = paycheck(&changed, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("-        \"amount_msat\": 100000,")
            && stdout.contains("+        \"amount_msat\": 150000,"),
        "{stdout}"
    );

    // Redacted by JSONPath, the price is no longer part of the snapshot.
    let redact = ["--redact", "$..price_sats", "--redact", "$..amount_msat"];
    let out = paycheck(
        &[
            &["snapshot", "record", "--suite", "l402", "--accept"][..],
            &redact,
        ]
        .concat(),
        &dir,
    );
    assert_eq!(out.status.code(), Some(0));
    let out = paycheck(&[&changed[..], &redact].concat(), &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
