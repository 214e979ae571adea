//! The reports of a run with failures: report.json validates against its schema,
//! junit.xml and report.sarif parse, report.html shows the exchanges; the Markdown and
//! JUnit renderings of a fixed report are snapshots.

use paycheck::catalogue::runner::{CheckResult, Selection, run_suite, select};
use paycheck::catalogue::{Level, Status, catalogue};
use paycheck::payer::Payer;
use paycheck::protocol::Dialect;
use paycheck::reference::ReferenceFault;
use paycheck::report::{Report, SuiteReport};
use paycheck::target::Exchange;
use paycheck::target::embedded::Embedded;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// A real run of two sections against a faulty build, so there are failures with evidence.
async fn real_report() -> Report {
    let embedded = Embedded::start(Dialect::X402V2, Some(ReferenceFault::ServeInvalid))
        .await
        .unwrap();
    let selection = Selection {
        only: vec!["*/rejection/*".into(), "*/http/402-signal/*".into()],
        ..Default::default()
    };
    let checks = select(catalogue(Dialect::X402V2), &selection).unwrap();
    let ctx = embedded.ctx(Duration::from_secs(5), Payer::test(0));
    let mut results = Vec::new();
    run_suite(&ctx, &checks, false, |r| results.push(r)).await;
    let suite = SuiteReport {
        suite: "x402-v2".into(),
        target: ctx.target.base_url.clone(),
        target_kind: "embedded".into(),
        required: Vec::new(),
        target_error: None,
        results,
    };
    drop(ctx);
    embedded.stop().await;
    Report::new(vec![suite], false, false, 12.5)
}

fn write(report: &Report, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paycheck-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    report.write(&dir).unwrap();
    dir
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn assert_xml_parses(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut testcases = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) if e.name().as_ref() == b"testcase" => {
                testcases += 1
            }
            Ok(_) => {}
            Err(e) => panic!("{}: not XML: {e}", path.display()),
        }
    }
    testcases
}

#[tokio::test]
async fn every_report_file_is_well_formed() {
    let report = real_report().await;
    assert!(
        report.count(Status::Fail) >= 9,
        "the faulty build fails the rejection checks"
    );
    let dir = write(&report, "real");

    let schema = read_json(&repo("schemas/report.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json = read_json(&dir.join("report.json"));
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report.json does not match its schema: {errors:#?}"
    );

    let total: usize = report.suites.iter().map(|s| s.results.len()).sum();
    assert_eq!(
        assert_xml_parses(&dir.join("junit.xml")),
        total,
        "one testcase per check"
    );

    let sarif = read_json(&dir.join("report.sarif"));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "paycheck");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        report.count(Status::Fail) + report.count(Status::Warn)
    );
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"], "ruleIndex points at its rule");
        assert!(["error", "warning"].contains(&r["level"].as_str().unwrap()));
        assert!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("x402-v2/rejection/underpaid"));
    assert!(
        html.contains("payment-signature: ") || html.contains("PAYMENT-SIGNATURE: "),
        "the request is shown"
    );
    assert!(
        html.contains("(decoded)"),
        "payment headers are shown decoded"
    );
    assert!(!html.contains("<script"), "no script in the page");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fixed_result(id: &str, status: Status, level: Level) -> CheckResult {
    let exchange = Exchange {
        method: "GET".into(),
        url: "http://127.0.0.1:4402/premium".into(),
        request_headers: vec![("Accept".into(), "application/json".into())],
        request_body: None,
        status: 200,
        head_status: None,
        response_headers: vec![("content-type".into(), "application/json".into())],
        body: "{\"data\":\"<b>free</b>\"}".into(),
        body_bytes: 21,
        error: None,
        timed_out: false,
        elapsed: Duration::from_millis(3),
        retried: false,
    };
    let failed = status != Status::Pass;
    CheckResult {
        id: id.into(),
        section: id.split('/').nth(1).unwrap().into(),
        title: format!("title of {id}"),
        level,
        requirement: "A requirement sentence.".into(),
        source: "x402-specification-v2.md §10.1".into(),
        status,
        message: if failed {
            "expected 402; got HTTP 200".into()
        } else {
            "ok".into()
        },
        expected: failed.then(|| "402".into()),
        actual: failed.then(|| "HTTP 200".into()),
        exchanges: if failed { vec![exchange] } else { Vec::new() },
        elapsed_ms: 1.0,
    }
}

fn fixed_report() -> Report {
    let results = vec![
        fixed_result("x402-v2/replay/sequential", Status::Pass, Level::Must),
        fixed_result("x402-v2/replay/concurrent", Status::Fail, Level::Must),
        fixed_result(
            "x402-v2/hygiene/cors-expose",
            Status::Warn,
            Level::BestPractice,
        ),
        fixed_result(
            "x402-v2/binding/cheaper-route",
            Status::Unsupported,
            Level::Must,
        ),
    ];
    let suite = SuiteReport {
        suite: "x402-v2".into(),
        target: "http://127.0.0.1:4402".into(),
        target_kind: "url".into(),
        required: vec!["x402-v2/payment/served".into()],
        target_error: None,
        results,
    };
    Report::new(vec![suite], false, true, 42.0)
}

#[test]
fn the_markdown_summary_is_stable() {
    insta::assert_snapshot!(
        "summary_md",
        paycheck::report::render_markdown(&fixed_report())
    );
}

#[test]
fn the_junit_document_is_stable() {
    insta::assert_snapshot!("junit_xml", paycheck::report::render_junit(&fixed_report()));
}

#[test]
fn junit_turns_red_for_an_interrupted_run_and_an_unproven_money_path() {
    let report = fixed_report();
    assert!(report.incomplete);
    let xml = paycheck::report::render_junit(&report);
    assert!(xml.contains("paycheck/run/complete"), "{xml}");
    assert!(
        xml.contains("<error message=\"the run was interrupted"),
        "{xml}"
    );
    let complete = Report::new(report.suites.clone(), false, false, 1.0);
    assert!(!complete.unproven.is_empty());
    let xml = paycheck::report::render_junit(&complete);
    assert!(!xml.contains("paycheck/run/complete"));
    assert!(
        xml.contains("paycheck/unproven/x402-v2/payment/served"),
        "{xml}"
    );
}

#[test]
fn html_escapes_what_the_server_sent() {
    let html = paycheck::report::render_html(&fixed_report());
    assert!(html.contains("&lt;b&gt;free&lt;/b&gt;"));
    assert!(!html.contains("<b>free</b>"));
}

#[test]
fn the_console_output_is_stable() {
    insta::assert_snapshot!("console", paycheck::cli::console::render(&fixed_report()));
}
