//! `paycheck run --spawn`: exits 0 on the correct reference server and 1 on every faulty
//! build of it, naming the check that caught the fault; stops what it started.

mod common;

use common::spawned::{self, assert_caught, bin, in_parallel, only};
use paycheck::reference::ReferenceFault;
use std::process::{Command, Output};

/// The x402 v2 reference (`fault` built in, if any) through `run --spawn`.
fn run_spawned(fault: Option<ReferenceFault>, extra: &[String]) -> Output {
    let mut server = format!(
        "{} serve-reference --protocol x402-v2 --facilitator-timeout 750ms",
        bin()
    );
    if let Some(f) = fault {
        server.push_str(&format!(" --fault {f}"));
    }
    let mut args = vec!["--paid", "GET /premium", "--paid", "POST /compute {}"];
    args.extend([
        "--free",
        "GET /health",
        "--failing",
        r#"POST /compute {"fail":true}"#,
        "--queued",
        r#"POST /compute {"queue":true}"#,
    ]);
    args.extend(extra.iter().map(String::as_str));
    let tag = fault.map_or("correct", ReferenceFault::name);
    spawned::run_spawned("x402-v2", &server, tag, &args)
}

#[test]
fn the_correct_reference_passes_through_spawn() {
    let out = run_spawned(None, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("0 failed") && stdout.contains("(http://127.0.0.1:"),
        "{stdout}"
    );
}

#[test]
fn every_faulty_build_exits_1_naming_its_check() {
    let results = in_parallel(&ReferenceFault::ALL, |f| {
        run_spawned(Some(f), &only("x402-v2", f.caught_by()))
    });
    for (fault, out) in results {
        assert_caught(fault, fault.caught_by()[0], &out);
    }
}

#[test]
fn a_server_that_exits_at_once_is_exit_3_with_its_output() {
    let out = Command::new(bin())
        .args([
            "run",
            "--suite",
            "x402-v2",
            "--spawn",
            "echo listening nowhere; exit 7",
            "--paid",
            "GET /premium",
        ])
        .args(["--report-dir"])
        .arg(std::env::temp_dir().join(format!("paycheck-spawn-exit-{}", std::process::id())))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listening nowhere") && stderr.contains("exit status: 7"),
        "{stderr}"
    );
}

#[test]
fn target_without_paid_routes_or_off_loopback_is_a_usage_error() {
    let out = Command::new(bin())
        .args(["run", "--target", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--paid"));
    let out = Command::new(bin())
        .args(["run", "--target", "http://192.0.2.1:80", "--paid", "GET /x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn an_unreachable_target_is_exit_3_with_its_reports_written() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("paycheck-unreachable-{}", std::process::id()));
    let out = Command::new(bin())
        .args([
            "run",
            "--target",
            &format!("http://127.0.0.1:{port}"),
            "--paid",
            "GET /premium",
            "--report-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let why = report["suites"][0]["target_error"].as_str().unwrap();
    assert!(why.contains("cannot connect"), "{why}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_writes_an_incomplete_report_and_exits_1() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("paycheck-spawn-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = format!("{} serve-reference --facilitator-timeout 60s", bin());
    let mut child = Command::new(bin())
        .args([
            "run",
            "--suite",
            "x402-v2",
            "--spawn",
            &server,
            "--paid",
            "GET /premium",
        ])
        .args([
            "--only",
            "x402-v2/resilience/verify-hang",
            "--timeout",
            "60s",
            "--report-dir",
        ])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("starting:") {
        line.clear();
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["incomplete"], true);
    assert!(
        std::fs::read_to_string(dir.join("summary.md"))
            .unwrap()
            .contains("Incomplete run")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replicas_share_the_mocks_and_catch_a_payment_served_twice_across_them() {
    let replicas = ["--replicas", "3"].map(String::from);
    let mut args = only("x402-v2", &["replicas/cross-replay", "replicas/concurrent"]);
    args.extend(replicas);
    let correct = run_spawned(None, &args);
    let stdout = String::from_utf8_lossy(&correct.stdout);
    assert_eq!(correct.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("✔ cross-replay:") && stdout.contains("✔ concurrent:"),
        "{stdout}"
    );
    let faulty = run_spawned(Some(ReferenceFault::ServeBeforeSettle), &args);
    assert_caught("serve-before-settle", "replicas/concurrent", &faulty);
}

#[test]
fn replicas_need_a_spawned_server() {
    let out = Command::new(bin())
        .args([
            "run",
            "--suite",
            "x402-v2",
            "--target",
            "http://127.0.0.1:9",
        ])
        .args(["--paid", "GET /premium", "--replicas", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --spawn"));
}
