//! paycheck against hostile servers (`common::hostile`): whatever the server does, every
//! command ends on its own, exits 1, 3 or 4 (never 0, never on a signal or a panic) and
//! writes its report; Ctrl-C in the middle of a hostile exchange (during run, props,
//! snapshot and load alike) still writes a report,
//! marked incomplete. Each command meets a fresh server; a behaviour's commands run side by
//! side, so a test takes as long as its slowest command.

mod common;

use common::hostile::{Behaviour, HostileServer, OFFSITE_HOST, unused_port};
use serde_json::Value;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The longest one paycheck command may take before the test calls it hung and kills it
/// (a guard, not a timing assertion).
const GUARD: Duration = Duration::from_secs(60);

/// The exit codes a command may end with against a hostile server: failed, unreachable,
/// internal error.
const FAILURE_CODES: [i32; 3] = [1, 3, 4];

/// The documented exit code of an interrupted run.
const INTERRUPTED: i32 = 1;

/// The bound on every request of a check in the table's runs.
const SHORT_TIMEOUT: &str = "1s";

/// The bound on every request of the Ctrl-C runs: long enough that only Ctrl-C ends them.
const LONG_TIMEOUT: &str = "30s";

/// How many requests `ExitMidRun` answers before it goes away.
const ANSWERED_BEFORE_EXIT: u64 = 3;

/// The load profile of `paycheck load`: a few arrivals a second for two seconds, bounded
/// in requests, with a short timeout on each.
const LOAD_PROFILE: &str = r#"
name = "hostile"
description = "A few arrivals a second for two seconds: enough to meet a hostile server."
suite = "x402-v2"
model = "open"

[[phase]]
rate = 5
duration = "2s"

[mix]
unpaid = 2
paid = 1
free = 1

[thresholds]
"errors.rate" = "< 1%"

[limits]
max_in_flight = 4
max_requests = 10
timeout = "1s"
drain = "2s"
"#;

/// A paycheck command of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// `run --suite x402-v2`.
    RunV2,
    /// `run --suite x402-v1`.
    RunV1,
    /// `props --suite x402-v2 --cases 20`, within a time budget.
    Props,
    /// `snapshot record --suite x402-v2`.
    SnapshotRecord,
    /// `load PROFILE` with [`LOAD_PROFILE`].
    Load,
}

impl Cmd {
    /// Every command of the table, for a server whose 402s carry nothing in the body.
    const HEADER_CARRIED: [Cmd; 4] = [Cmd::RunV2, Cmd::Props, Cmd::SnapshotRecord, Cmd::Load];

    /// Every command of the table, for a server whose 402s carry an x402 v1 body too.
    const BODY_CARRIED: [Cmd; 5] = [
        Cmd::RunV2,
        Cmd::RunV1,
        Cmd::Props,
        Cmd::SnapshotRecord,
        Cmd::Load,
    ];

    /// A short name, for scratch directories and the results table.
    fn name(self) -> &'static str {
        match self {
            Cmd::RunV2 => "run-v2",
            Cmd::RunV1 => "run-v1",
            Cmd::Props => "props",
            Cmd::SnapshotRecord => "snapshot",
            Cmd::Load => "load",
        }
    }

    /// The report the command must write into its report directory.
    fn report_file(self) -> &'static str {
        match self {
            Cmd::Load => "load.json",
            _ => "report.json",
        }
    }

    /// The full argument list against `url`, writing into `dir`, with `timeout` on every
    /// request (load takes its timeout from the profile).
    fn args(self, url: &str, dir: &Path, timeout: &str) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self {
            Cmd::RunV2 => strings(&["run", "--suite", "x402-v2", "--timeout", timeout]),
            Cmd::RunV1 => strings(&["run", "--suite", "x402-v1", "--timeout", timeout]),
            Cmd::Props => props_args(dir, timeout),
            Cmd::SnapshotRecord => snapshot_args(dir, timeout),
            Cmd::Load => vec!["load".into(), write_profile(dir).into()],
        };
        args.extend(strings(&["--target", url, "--paid", "GET /premium"]));
        args.extend(strings(&["--free", "GET /health", "--report-dir"]));
        args.push(dir.into());
        args
    }
}

/// `props` with few cases, a fixed seed, a time budget and a scratch regressions directory
/// (never the repository's).
fn props_args(dir: &Path, timeout: &str) -> Vec<OsString> {
    let mut args = strings(&["props", "--suite", "x402-v2", "--cases", "20"]);
    args.extend(strings(&["--seed", "402", "--time-budget", "5s"]));
    args.extend(strings(&["--timeout", timeout, "--regressions"]));
    args.push(dir.join("regressions").into());
    args
}

/// `snapshot record` into a scratch snapshot directory.
fn snapshot_args(dir: &Path, timeout: &str) -> Vec<OsString> {
    let mut args = strings(&["snapshot", "record", "--suite", "x402-v2"]);
    args.extend(strings(&["--timeout", timeout, "--dir"]));
    args.push(dir.join("snapshots").into());
    args
}

/// Writes [`LOAD_PROFILE`] into `dir` and returns its path.
fn write_profile(dir: &Path) -> PathBuf {
    let path = dir.join("profile.toml");
    std::fs::write(&path, LOAD_PROFILE).expect("the scratch directory is writable");
    path
}

/// Owned copies of string arguments.
fn strings(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The paycheck binary under test.
fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_paycheck")
}

/// A fresh, empty scratch directory for one command against one target.
fn scratch_dir(target: &str, cmd: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paycheck-hostile-{target}-{cmd}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    dir
}

/// A name for a behaviour fit for a directory: its variant, letters and digits only.
fn label(behaviour: Behaviour) -> String {
    format!("{behaviour:?}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Starts paycheck with `args`, its output piped, killed if the test drops it.
fn start_paycheck(args: Vec<OsString>) -> Child {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the paycheck binary starts")
}

/// Waits for `child` to end within [`GUARD`]; `None` (and the child killed) if it hung.
async fn wait_guarded(child: Child) -> Option<Output> {
    let output = tokio::time::timeout(GUARD, child.wait_with_output()).await;
    output
        .ok()
        .map(|o| o.expect("paycheck's output can be read"))
}

/// Reads and parses a report, or says why it could not.
fn read_report(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("not written ({e})"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON ({e})"))
}

/// The exchanges of a report whose URL or transport error names [`OFFSITE_HOST`]: a
/// redirect paycheck must never follow.
fn offsite_exchanges(report: &Value) -> Vec<String> {
    let items = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
    items(report, "suites")
        .iter()
        .flat_map(|suite| items(suite, "results"))
        .flat_map(|result| items(&result, "exchanges"))
        .map(|exchange| format!("{} {}", exchange["url"], exchange["error"]))
        .filter(|text| text.contains(OFFSITE_HOST))
        .collect()
}

/// What one command did against one target.
struct Outcome {
    /// The command.
    cmd: Cmd,
    /// Its output, or `None` when it hung and was killed.
    output: Option<Output>,
    /// How long it took, as seen from here.
    elapsed: Duration,
    /// Its report, parsed, or why there was none.
    report: Result<Value, String>,
}

impl Outcome {
    /// The exit code, `None` when it hung or ended on a signal.
    fn code(&self) -> Option<i32> {
        self.output.as_ref().and_then(|o| o.status.code())
    }

    /// Its standard error, as text.
    fn stderr(&self) -> String {
        self.output
            .as_ref()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default()
    }

    /// How the process ended, in words.
    fn ending(&self) -> String {
        match &self.output {
            None => format!("hung, killed after {}s", GUARD.as_secs()),
            Some(o) => match (o.status.code(), o.status.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) => format!("signal {signal}"),
                (None, None) => "ended without a code".into(),
            },
        }
    }

    /// Everything wrong with the outcome; empty when the command survived.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.code() {
            Some(code) if FAILURE_CODES.contains(&code) => {}
            Some(0) => problems.push("exit 0: a hostile server passed".into()),
            _ => problems.push(format!("{}: not one of 1, 3, 4", self.ending())),
        }
        if let Some(line) = self.stderr().lines().find(|l| l.contains("panicked")) {
            problems.push(format!("panicked: {line}"));
        }
        match &self.report {
            Ok(report) => problems.extend(
                offsite_exchanges(report)
                    .into_iter()
                    .map(|e| format!("followed the off-site redirect: {e}")),
            ),
            Err(e) => problems.push(format!("{} {e}", self.cmd.report_file())),
        }
        problems
    }

    /// One line of the results table.
    fn line(&self) -> String {
        let report = match &self.report {
            Ok(_) => "written".to_string(),
            Err(e) => e.clone(),
        };
        format!(
            "{:<9} {:<24} {:>6.1}s  {} {report}",
            self.cmd.name(),
            self.ending(),
            self.elapsed.as_secs_f64(),
            self.cmd.report_file()
        )
    }

    /// The last lines of standard error, to explain a problem.
    fn stderr_tail(&self) -> String {
        let stderr = self.stderr();
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n    ")
    }
}

/// Runs `cmd` against `url` (scratch files named after `target`), within the guard.
async fn run_command(target: &str, cmd: Cmd, url: &str) -> Outcome {
    let dir = scratch_dir(target, cmd.name());
    let started = Instant::now();
    let output = wait_guarded(start_paycheck(cmd.args(url, &dir, SHORT_TIMEOUT))).await;
    let elapsed = started.elapsed();
    let report = read_report(&dir.join(cmd.report_file()));
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        cmd,
        output,
        elapsed,
        report,
    }
}

/// Runs `cmd` against a fresh server doing `behaviour`.
async fn run_against(behaviour: Behaviour, cmd: Cmd) -> Outcome {
    let server = HostileServer::start(behaviour).await;
    run_command(&label(behaviour), cmd, &server.url()).await
}

/// The commands of the table that matter for `behaviour`: x402 v1 only where the 402
/// carries something in its body.
fn commands_for(behaviour: Behaviour) -> &'static [Cmd] {
    match behaviour {
        Behaviour::JsonBomb
        | Behaviour::TenThousandOffers
        | Behaviour::MainnetOnly
        | Behaviour::ContentLengthTooSmall => &Cmd::BODY_CARRIED,
        _ => &Cmd::HEADER_CARRIED,
    }
}

/// Prints the results table of `target` (shown with a failure, or with `--nocapture`) and
/// fails, naming every problem, unless every command survived.
fn assert_survived(target: &str, outcomes: &[Outcome]) {
    let table: Vec<String> = outcomes
        .iter()
        .map(|o| format!("hostile {target:<22} {}", o.line()))
        .collect();
    eprintln!("{}", table.join("\n"));
    let problems: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.problems().is_empty())
        .map(|o| {
            format!(
                "{}: {}\n    {}",
                o.cmd.name(),
                o.problems().join("; "),
                o.stderr_tail()
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{target} (table above):\n{}",
        problems.join("\n")
    );
}

/// Every command of the table against `behaviour`, side by side, each on its own server.
async fn survives(behaviour: Behaviour) {
    let runs = commands_for(behaviour)
        .iter()
        .map(|cmd| run_against(behaviour, *cmd));
    let outcomes = futures::future::join_all(runs).await;
    assert_survived(&label(behaviour), &outcomes);
}

#[test]
fn the_offsite_check_sees_a_followed_redirect() {
    let followed = "error sending request for url (http://10.0.0.1/)";
    let exchanges = [
        serde_json::json!({"url": "http://127.0.0.1:9/premium", "error": null}),
        serde_json::json!({"url": "http://10.0.0.1/", "error": null}),
        serde_json::json!({"url": "http://127.0.0.1:9/premium", "error": followed}),
    ];
    let report = serde_json::json!({"suites": [{"results": [{"exchanges": exchanges}]}]});
    assert_eq!(offsite_exchanges(&report).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_after_accept() {
    survives(Behaviour::HangAfterAccept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_after_headers() {
    survives(Behaviour::HangAfterHeaders).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip() {
    survives(Behaviour::SlowDrip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset() {
    survives(Behaviour::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage() {
    survives(Behaviour::Garbage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http09() {
    survives(Behaviour::Http09).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_header_1mib() {
    survives(Behaviour::HugeHeader1MiB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_header_8mib() {
    survives(Behaviour::HugeHeader8MiB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_headers() {
    survives(Behaviour::TenThousandHeaders).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_1gib() {
    survives(Behaviour::Body1GiB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_chunked() {
    survives(Behaviour::EndlessChunked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_utf8() {
    survives(Behaviour::BadUtf8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_too_large() {
    survives(Behaviour::ContentLengthTooLarge).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_too_small() {
    survives(Behaviour::ContentLengthTooSmall).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop() {
    survives(Behaviour::RedirectLoop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_offsite() {
    survives(Behaviour::RedirectOffsite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_close() {
    survives(Behaviour::EarlyClose).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_on_plain() {
    survives(Behaviour::TlsOnPlain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bomb() {
    survives(Behaviour::JsonBomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_offers() {
    survives(Behaviour::TenThousandOffers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mainnet_only() {
    survives(Behaviour::MainnetOnly).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_200_everything() {
    survives(Behaviour::Ok200Everything).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_402() {
    survives(Behaviour::Always402).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_mid_run() {
    survives(Behaviour::ExitMidRun(ANSWERED_BEFORE_EXIT)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening() {
    let url = format!("http://127.0.0.1:{}", unused_port());
    let runs = Cmd::HEADER_CARRIED
        .iter()
        .map(|cmd| run_command("NothingListening", *cmd, &url));
    let outcomes = futures::future::join_all(runs).await;
    assert_survived("NothingListening", &outcomes);
}

/// Sends SIGINT to `child`, as Ctrl-C in its terminal would.
fn interrupt(child: &Child) {
    let pid = child.id().expect("paycheck is still running") as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child this test started and has not yet reaped.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT reaches paycheck");
}

/// The commands interrupted in the Ctrl-C tests: every command that writes a report.
const INTERRUPTED_COMMANDS: [Cmd; 4] = [Cmd::RunV2, Cmd::Props, Cmd::SnapshotRecord, Cmd::Load];

/// `cmd` against `behaviour` with a long timeout, interrupted once the server has seen its
/// first request: it exits 1 on its own and writes its report, marked incomplete. Only
/// behaviours that never finish an answer are interrupted, so that the command is still
/// waiting when the signal lands (a server that fails fast can end the run first).
async fn ctrl_c_during(behaviour: Behaviour, cmd: Cmd) -> (String, Outcome) {
    let server = HostileServer::start(behaviour).await;
    let target = format!("CtrlC{}", label(behaviour));
    let dir = scratch_dir(&target, cmd.name());
    let child = start_paycheck(cmd.args(&server.url(), &dir, LONG_TIMEOUT));
    tokio::time::timeout(GUARD, server.first_request())
        .await
        .expect("paycheck reaches the server");
    interrupt(&child);
    let started = Instant::now();
    let output = wait_guarded(child).await;
    let report = read_report(&dir.join(cmd.report_file()));
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = Outcome {
        cmd,
        output,
        elapsed: started.elapsed(),
        report,
    };
    eprintln!("hostile {target:<22} {}", outcome.line());
    (target, outcome)
}

/// Every command of [`INTERRUPTED_COMMANDS`], side by side, interrupted against `behaviour`.
async fn ctrl_c_each_command(behaviour: Behaviour) {
    let runs = INTERRUPTED_COMMANDS.map(|cmd| ctrl_c_during(behaviour, cmd));
    for (target, outcome) in futures::future::join_all(runs).await {
        assert_interrupted(&target, &outcome);
    }
}

/// The interrupted run exited 1, did not panic, and wrote a report marked incomplete.
fn assert_interrupted(target: &str, outcome: &Outcome) {
    let stderr = outcome.stderr_tail();
    assert_eq!(
        outcome.code(),
        Some(INTERRUPTED),
        "{target}: {}\n    {stderr}",
        outcome.ending()
    );
    assert!(
        !outcome.stderr().contains("panicked"),
        "{target}: panicked\n    {stderr}"
    );
    let report = outcome.report.as_ref().unwrap_or_else(|e| {
        panic!(
            "{target}: {} is not written: {e}",
            outcome.cmd.report_file()
        )
    });
    assert_eq!(report["incomplete"], true, "{target}: {report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_headers_hang() {
    ctrl_c_each_command(Behaviour::HangAfterHeaders).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_a_402_drips() {
    ctrl_c_each_command(Behaviour::SlowDrip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_a_connection_hangs_after_accept() {
    ctrl_c_each_command(Behaviour::HangAfterAccept).await;
}

/// A server that answers paycheck's first request and is then gone: the 402-signal and
/// hygiene checks that once passed on no answer (`fast-402` on a reset, `json-not-html` on
/// no content type, `no-internals` on an empty body, `payment-header-limit` on a timeout) pass no
/// more: each is a failure, an error or not exercised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_check_passes_once_the_server_is_gone() {
    let server = HostileServer::start(Behaviour::ExitMidRun(1)).await;
    let dir = scratch_dir("Gone", "run-v2");
    let mut args = Cmd::RunV2.args(&server.url(), &dir, SHORT_TIMEOUT);
    args.extend(strings(&["--only", "x402-v2/http/*"]));
    let output = wait_guarded(start_paycheck(args))
        .await
        .expect("paycheck ends");
    let report = read_report(&dir.join("report.json")).expect("report.json is written");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(1));
    let results = report["suites"][0]["results"].as_array().unwrap();
    assert!(results.len() >= 10, "{report}");
    for r in results {
        assert_ne!(
            r["status"], "pass",
            "{} passed on no answer: {}",
            r["id"], r["message"]
        );
    }
}
