//! The `paycheck` binary: servers answer on loopback and stop cleanly on a signal, `run`
//! exits with the documented codes, and no key ever reaches output or reports.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest any step may take before the test gives up (a guard, not a timing assert).
const GUARD: Duration = Duration::from_secs(60);

fn paycheck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_paycheck"))
}

/// Starts a server command and returns it with the URL printed after `label`.
fn start(args: &[&str], label: &str) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = paycheck()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let Ok(line) = rx.recv_timeout(GUARD) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not print its URL after '{label}'");
        };
        if let Some(url) = line.strip_prefix(label) {
            return (child, url.trim().to_string(), rx);
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(mut child: Child) -> (i32, String) {
    let (tx, rx) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = tx.send((child.wait().unwrap().code().unwrap_or(-1), s));
    });
    rx.recv_timeout(GUARD).expect("the server stops")
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn mocks_answers_on_loopback_and_stops_on_ctrl_c() {
    let (child, url, _) = start(
        &[
            "mocks",
            "--facilitator-port",
            "0",
            "--fault",
            "settle=pending",
        ],
        "facilitator:",
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body) = get(&format!("{url}/supported"));
    assert_eq!(status, 200);
    assert!(body.contains("eip155:84532"));
    let (_, faults) = get(&format!("{url}/_paycheck/faults"));
    assert_eq!(faults, r#"["settle=pending"]"#);
    signal(&child, "-INT");
    let (code, stderr) = wait(child);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped"));
}

#[test]
fn serve_reference_answers_402_and_stops_on_sigterm() {
    for protocol in ["x402-v2", "x402-v1", "t402", "t402-v1"] {
        let (child, url, rx) = start(
            &["serve-reference", "--protocol", protocol, "--port", "0"],
            &format!("reference {protocol}:"),
        );
        let facilitator = rx.recv_timeout(GUARD).unwrap();
        assert!(
            facilitator.starts_with("facilitator: http://127.0.0.1:"),
            "{facilitator}"
        );
        assert_eq!(get(&format!("{url}/premium")).0, 402);
        assert_eq!(get(&format!("{url}/health")).0, 200);
        signal(&child, "-TERM");
        let (code, stderr) = wait(child);
        assert_eq!(code, 0, "{protocol}: {stderr}");
    }
}

#[test]
fn a_busy_port_exits_3_with_advice() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = paycheck()
        .args(["mocks", "--facilitator-port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--facilitator-port"));
}

#[test]
fn a_mock_that_cannot_start_still_leaves_a_report() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let dir = temp_dir("busy-mock");
    let out = paycheck()
        .args([
            "run",
            "--suite",
            "x402-v2",
            "--spawn",
            "true",
            "--paid",
            "GET /premium",
        ])
        .args(["--facilitator-port", &port, "--report-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        report["suites"][0]["target_error"]
            .as_str()
            .unwrap()
            .contains("mocks")
    );
    assert!(
        std::fs::read_to_string(dir.join("junit.xml"))
            .unwrap()
            .contains("<error")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paycheck-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn run_writes_reports_exits_0_and_never_shows_a_key() {
    let dir = temp_dir("run");
    let out = paycheck()
        .args(["run", "--suite", "x402-v2", "--suite", "l402-single-use"])
        .arg("--report-dir")
        .arg(&dir)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("x402-v2/replay") || stdout.contains("replay"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["version"], "paycheck-report/1");
    assert_eq!(report["incomplete"], false);
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("<testcase name=\"x402-v2/replay/sequential\""));
    // The embedded x402 suite runs on two lanes side by side; its results are reported in
    // catalogue order all the same.
    let listed = paycheck()
        .args(["list", "--suite", "x402-v2"])
        .output()
        .unwrap();
    let listed: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let reported: Vec<String> = report["suites"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reported, listed);
    let mut everything = format!("{stdout}{stderr}");
    for f in ["report.json", "junit.xml", "summary.md"] {
        everything.push_str(&std::fs::read_to_string(dir.join(f)).unwrap());
    }
    let everything = everything.to_lowercase();
    let mut keys = paycheck::payer::keys::test_keys();
    keys.push(paycheck::payer::keys::lightning_node_key());
    for key in keys {
        let bare = key.trim_start_matches("0x").to_lowercase();
        assert!(
            !everything.contains(&bare),
            "a key reached the output or a report"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_is_no_panic() {
    let mut child = paycheck()
        .args(["list", "--sources"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closing the read end at once: the listing meets a broken pipe, as under `| head`.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_bad_glob_is_a_usage_error() {
    let out = paycheck()
        .args(["run", "--only", "x402-v2/[", "--report-dir"])
        .arg(temp_dir("glob"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad glob"));
}

#[test]
fn selecting_nothing_fails_closed() {
    let dir = temp_dir("nothing");
    let out = paycheck()
        .args(["run", "--only", "no-such-check/*", "--report-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failing closed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_documents_the_exit_codes() {
    let out = paycheck().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for line in [
        "0  every required check passed",
        "3  the target could not be reached",
        "4  internal error",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[test]
fn allow_mainnet_without_a_key_is_a_usage_error() {
    let out = paycheck()
        .args(["run", "--allow-mainnet", "--report-dir"])
        .arg(temp_dir("mainnet"))
        .env_remove("PAYCHECK_PRIVATE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAYCHECK_PRIVATE_KEY"));
}

#[test]
fn a_scenario_file_with_a_mistake_is_exit_2_with_its_position() {
    let dir = temp_dir("scenario");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "id = \"mine/check\"\nsuites = [\"x402-v2\"]\ntitle = \"t\"\nlevel = \"MUST\"\nrequirement = \"r\"\nsource = \"s\"\n\n[[step]]\nname = \"a\"\nrequest = { route = \"paid\" }\nexpect = { status = 402, colour = \"red\" }\n",
    )
    .unwrap();
    let out = paycheck()
        .args(["run", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:11:"), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");

    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace(", colour = \"red\"", ""),
    )
    .unwrap();
    let out = paycheck()
        .args([
            "run",
            "--suite",
            "x402-v2",
            "--only",
            "x402-v2/mine/*",
            "--scenario",
        ])
        .arg(&file)
        .arg("--report-dir")
        .arg(dir.join("reports"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
