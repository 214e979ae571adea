//! `paycheck load` and `paycheck merge` through the binary: a short run passes and its
//! load.json matches the schema; an impossible threshold exits 1; abort-on-fail stops a
//! run early; profile mistakes exit 2 at their line; the closed model runs on goose or on
//! paycheck's own users, and stops when its payments run out; L402
//! pays from a pool of preimages; three shards merge exactly; Ctrl-C writes an incomplete
//! report. No test asserts a time: thresholds here are about errors or are impossible.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_paycheck")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("paycheck-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a profile into `d` and returns its path.
fn profile(d: &Path, text: &str) -> PathBuf {
    let p = d.join("profile.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn load(profile: &Path, report_dir: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("load")
        .arg(profile)
        .arg("--report-dir")
        .arg(report_dir)
        .args(extra)
        .output()
        .unwrap()
}

fn report(d: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(d.join("load.json")).unwrap()).unwrap()
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(name);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&json).unwrap()
}

/// The report matches `schemas/load.schema.json`.
fn assert_matches_schema(r: &Value) {
    let errors: Vec<String> = schema("load.schema.json")
        .iter_errors(r)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const SHORT: &str = r#"
name = "short"
[[phase]]
rate = 40
duration = "1s"
[mix]
unpaid = 2
paid = 1
free = 1
replay = 1
[thresholds]
"errors.rate" = "< 1%"
"#;

#[test]
fn a_short_open_run_passes_and_its_report_matches_the_schema() {
    let d = dir("short");
    let out = load(&profile(&d, SHORT), &d, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(&d);
    assert_matches_schema(&r);
    assert_eq!(r["phases"][0]["scheduled"], 40);
    assert_eq!(r["metrics"]["requests"], r["phases"][0]["sent"]);
    assert_eq!(r["passed"], true);
    for c in r["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
    }
    let md = std::fs::read_to_string(d.join("load.md")).unwrap();
    assert!(
        md.contains("| paid |") && md.contains("402 correctness under load"),
        "{md}"
    );
}

#[test]
fn an_impossible_threshold_exits_1() {
    let d = dir("impossible");
    let text = SHORT.replace(r#""errors.rate" = "< 1%""#, r#""unpaid.p50" = "< 1us""#);
    let out = load(&profile(&d, &text), &d, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&d);
    assert_eq!(r["passed"], false);
    assert_eq!(r["thresholds"][0]["passed"], false);
    assert!(String::from_utf8_lossy(&out.stdout).contains("✘ unpaid.p50 < 1us"));
}

#[test]
fn abort_on_fail_stops_a_run_after_its_grace_period() {
    let d = dir("abort");
    let text = r#"
name = "abort"
[[phase]]
rate = 20
duration = "60s"
[mix]
unpaid = 1
[thresholds]
"unpaid.p50" = "< 1us"
[abort]
grace = "1s"
"#;
    let out = load(&profile(&d, text), &d, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&d);
    let stopped = r["stopped"].as_str().unwrap();
    assert!(
        stopped.contains("stopped early: unpaid.p50 < 1us"),
        "{stopped}"
    );
    let (sent, scheduled) = (&r["phases"][0]["sent"], &r["phases"][0]["scheduled"]);
    assert!(sent.as_u64() < scheduled.as_u64(), "{sent} of {scheduled}");
}

#[test]
fn profile_mistakes_exit_2_at_their_line() {
    let d = dir("mistake");
    let out = load(
        &profile(&d, &SHORT.replace("rate = 40", "rate = -4")),
        &d,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("profile.toml:4:"), "{stderr}");
}

const CLOSED: &str = r#"
name = "closed"
model = "closed"
[[phase]]
users = 3
duration = "1s"
[mix]
unpaid = 2
paid = 1
replay = 1
[thresholds]
"errors.rate" = "< 1%"
"#;

#[test]
fn the_closed_model_runs_on_goose_and_writes_its_report_too() {
    let d = dir("closed");
    let out = load(&profile(&d, CLOSED), &d, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(&d);
    assert_eq!(r["model"], "closed");
    assert!(r["metrics"]["requests"].as_u64().unwrap() > 0);
    let html = std::fs::read_to_string(d.join("goose-report.html")).unwrap();
    assert!(html.contains("<html"), "goose wrote its HTML report");
}

#[test]
fn the_closed_model_runs_on_paycheck_users_when_asked() {
    let d = dir("closed-paycheck");
    // Ramped up, then down to fewer users for half a second.
    let text = CLOSED
        .replace(
            "model = \"closed\"",
            "model = \"closed\"\nengine = \"paycheck\"",
        )
        .replace(
            "users = 3",
            "users = 4\nhatch_rate = 8\nduration = \"1s\"\n[[phase]]\nusers = 2",
        )
        .replace("duration = \"1s\"\n[mix]", "duration = \"500ms\"\n[mix]");
    let out = load(&profile(&d, &text), &d, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(&d);
    assert_matches_schema(&r);
    assert_eq!(r["phases"].as_array().map(Vec::len), Some(2), "{text}");
    assert_eq!(
        (r["model"].as_str(), r["engine"].as_str()),
        (Some("closed"), Some("paycheck"))
    );
    for txn in ["unpaid", "paid", "replay"] {
        assert!(
            r["transactions"][txn]["requests"].as_u64().unwrap() > 0,
            "{txn}"
        );
    }
    let checks = r["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["status"] == "pass"),
        "every 402 check ran and held: {checks:?}"
    );
    assert!(!d.join("goose-report.html").exists(), "goose did not run");
}

#[test]
fn a_closed_run_whose_payments_run_out_stops_and_says_so() {
    for engine in ["goose", "paycheck"] {
        let d = dir(&format!("pool-{engine}"));
        let text = format!(
            "name = \"spent\"\nmodel = \"closed\"\nengine = \"{engine}\"\n\
             [[phase]]\nusers = 2\nduration = \"30s\"\n[mix]\npaid = 1\n[limits]\npool = 5\n"
        );
        let out = load(&profile(&d, &text), &d, &[]);
        assert_eq!(out.status.code(), Some(1), "{engine}: {}", show(&out));
        let r = report(&d);
        let why = r["stopped"].as_str().unwrap_or_default();
        assert!(
            why.contains("ran out") && why.contains("pool"),
            "{engine}: {why}"
        );
        assert_eq!(r["transactions"]["paid"]["requests"], 5, "{engine}");
    }
}

#[test]
fn an_l402_run_pays_from_a_pool_of_preimages() {
    let d = dir("l402");
    let text = r#"
name = "l402"
suite = "l402-single-use"
[[phase]]
rate = 30
duration = "1s"
[mix]
unpaid = 1
paid = 1
replay = 1
[thresholds]
"errors.rate" = "< 1%"
"#;
    let out = load(&profile(&d, text), &d, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(&d);
    assert_eq!(r["transactions"]["paid"]["statuses"]["200"], 10);
    assert_eq!(r["transactions"]["replay"]["errors"], 0);
}

#[test]
fn three_shards_merge_exactly() {
    let d = dir("shards");
    let mut server = Command::new(bin())
        .args(["serve-reference", "--protocol", "x402-v2", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The reader lives as long as the server: a closed pipe would kill it at its next line.
    let mut server_out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    server_out.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let text = r#"
name = "shards"
[[phase]]
rate = 60
duration = "2s"
[mix]
unpaid = 2
paid = 1
free = 1
[routes]
paid = "GET /premium"
free = "GET /health"
[thresholds]
"errors.rate" = "< 1%"
"#;
    let p = profile(&d, text);
    let shards: Vec<_> = (1..=3)
        .map(|i| {
            let out = d.join(format!("shard-{i}"));
            let child = Command::new(bin())
                .arg("load")
                .arg(&p)
                .args([
                    "--target",
                    &url,
                    "--shard",
                    &format!("{i}/3"),
                    "--report-dir",
                ])
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let mut dirs = Vec::new();
    for (child, out) in shards {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        dirs.push(out);
    }
    let _ = server.kill();
    let _ = server.wait();
    drop(server_out);
    let merged_dir = d.join("merged");
    let out = Command::new(bin())
        .arg("merge")
        .args(dirs.iter().map(|d| d.join("load.json")))
        .arg("--report-dir")
        .arg(&merged_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let shards: Vec<Value> = dirs.iter().map(|d| report(d)).collect();
    let merged = report(&merged_dir);
    assert!(schema("load.schema.json").is_valid(&merged));
    assert_eq!(merged["merged_from"], 3);
    let sum = |f: &dyn Fn(&Value) -> u64| shards.iter().map(f).sum::<u64>();
    assert_eq!(
        merged["metrics"]["requests"].as_u64().unwrap(),
        sum(&|r: &Value| r["metrics"]["requests"].as_u64().unwrap())
    );
    // Each shard ran a third of the rate: 40 of 120 arrivals.
    assert_eq!(merged["phases"][0]["scheduled"], 120);
    // Exact: the merged histogram holds every sample, and its extremes are the shards'.
    let hist = |r: &Value| {
        paycheck::load::metrics::decode(r["transactions"]["unpaid"]["histogram"].as_str().unwrap())
            .unwrap()
    };
    let merged_hist = hist(&merged);
    assert_eq!(merged_hist.len(), sum(&|r: &Value| hist(r).len()));
    assert_eq!(
        merged_hist.max(),
        shards.iter().map(|r| hist(r).max()).max().unwrap()
    );
    let p50 = |r: &Value| {
        r["transactions"]["unpaid"]["latency_ms"]["p50"]
            .as_f64()
            .unwrap()
    };
    let (lo, hi) = shards
        .iter()
        .map(p50)
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    assert!(lo <= p50(&merged) && p50(&merged) <= hi);
}

/// Starts a long run, waits until it has started, interrupts it, and returns its report.
fn interrupted(name: &str, text: &str) -> (Option<i32>, Value) {
    let d = dir(name);
    let p = profile(&d, text);
    let mut child = Command::new(bin())
        .arg("load")
        .arg(&p)
        .arg("--report-dir")
        .arg(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.starts_with("load:") {
        line.clear();
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    (status.code(), report(&d))
}

#[test]
fn ctrl_c_stops_an_open_run_and_writes_an_incomplete_report() {
    let text = r#"
name = "long"
[[phase]]
rate = 20
duration = "120s"
[mix]
unpaid = 1
"#;
    let (code, r) = interrupted("ctrlc-open", text);
    assert_eq!(code, Some(1));
    assert_eq!(r["incomplete"], true);
    assert_eq!(r["passed"], false);
}

#[test]
fn ctrl_c_stops_a_closed_run_through_goose_and_still_writes_the_report() {
    let text = r#"
name = "long-closed"
model = "closed"
[[phase]]
users = 2
duration = "120s"
[mix]
unpaid = 1
"#;
    let (code, r) = interrupted("ctrlc-closed", text);
    assert_eq!(code, Some(1));
    assert_eq!(r["incomplete"], true);
    let lean = text.replace(
        "model = \"closed\"",
        "model = \"closed\"\nengine = \"paycheck\"",
    );
    let (code, r) = interrupted("ctrlc-users", &lean);
    assert_eq!(code, Some(1));
    assert_eq!(
        (r["incomplete"].as_bool(), r["engine"].as_str()),
        (Some(true), Some("paycheck"))
    );
}

#[test]
fn every_shipped_profile_matches_the_profile_schema() {
    let validator = schema("load-profile.schema.json");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/load");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("bench")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let mut seen = 0;
    for path in files {
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value =
            serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        paycheck::load::profile::parse(&path.display().to_string(), &text).unwrap();
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn the_profiles_mock_faults_apply_during_the_run() {
    let d = dir("faults");
    let text = r#"
name = "faults"
[[phase]]
rate = 20
duration = "1s"
[mix]
paid = 1
[mocks]
facilitator_faults = ["settle=status:503"]
[thresholds]
"errors.rate" = "< 1%"
"#;
    let out = load(&profile(&d, text), &d, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&d);
    let paid = &r["transactions"]["paid"];
    assert_eq!(paid["errors"], paid["requests"], "{paid}");
    assert!(
        paid["violations"]["server-error"].as_u64().unwrap() > 0,
        "{paid}"
    );
    // And a profile that sets faults for a mock the server does not use says so.
    let l402 = text.replace("name = \"faults\"", "name = \"faults\"\nsuite = \"l402\"");
    let out = load(&profile(&d, &l402), &d, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lightning_faults"));
}
