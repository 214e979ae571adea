//! JUnit XML: one testsuite per suite, one testcase per check (classname = section).

use super::Report;
use crate::catalogue::Status;
use std::fmt::Write;

/// Escapes text for XML attributes and content.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The run's own verdicts that no check carries: an interruption, and each thing the
/// fail-closed rule found unproven. A JUnit-only gate must see these red too.
fn run_verdicts(report: &Report) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if report.incomplete {
        out.push((
            "paycheck/run/complete".to_string(),
            "the run was interrupted before every check ran: this report is incomplete".into(),
        ));
    }
    for u in &report.unproven {
        out.push((format!("paycheck/unproven/{}", u.id), u.why.clone()));
    }
    out
}

/// Renders the JUnit document.
pub fn render(report: &Report) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let verdicts = run_verdicts(report);
    let total: usize =
        report.suites.iter().map(|s| s.results.len()).sum::<usize>() + verdicts.len();
    let failures = report.count(Status::Fail);
    let errors = report.count(Status::Error) + verdicts.len();
    let _ = writeln!(
        x,
        "<testsuites name=\"paycheck\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        report.elapsed_ms / 1000.0
    );
    for suite in &report.suites {
        let count = |st: Status| suite.count(st);
        let skipped = suite
            .results
            .iter()
            .filter(|r| !r.status.graded() && r.status != Status::Error)
            .count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{skipped}\">",
            xml_escape(&suite.suite),
            suite.results.len(),
            count(Status::Fail),
            count(Status::Error)
        );
        for r in &suite.results {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">",
                xml_escape(&r.id),
                xml_escape(&format!("{}.{}", suite.suite, r.section)),
                r.elapsed_ms / 1000.0
            );
            let detail = format!(
                "[{}] {}\n{}\nsource: {}",
                r.level, r.message, r.requirement, r.source
            );
            match r.status {
                Status::Fail => {
                    let _ = write!(
                        x,
                        "<failure message=\"{}\">{}</failure>",
                        xml_escape(&r.message),
                        xml_escape(&detail)
                    );
                }
                Status::Error => {
                    let _ = write!(
                        x,
                        "<error message=\"{}\">{}</error>",
                        xml_escape(&r.message),
                        xml_escape(&detail)
                    );
                }
                Status::Unsupported | Status::NotExercised => {
                    let _ = write!(
                        x,
                        "<skipped message=\"{}: {}\"/>",
                        r.status,
                        xml_escape(&r.message)
                    );
                }
                Status::Warn => {
                    let _ = write!(x, "<system-out>warn: {}</system-out>", xml_escape(&detail));
                }
                Status::Pass => {}
            }
            x.push_str("</testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    if !verdicts.is_empty() {
        let _ = writeln!(
            x,
            "  <testsuite name=\"paycheck\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\">",
            n = verdicts.len()
        );
        for (name, why) in &verdicts {
            let _ = writeln!(
                x,
                "    <testcase name=\"{}\" classname=\"paycheck.run\" time=\"0.000\"><error message=\"{}\">{}</error></testcase>",
                xml_escape(name),
                xml_escape(why),
                xml_escape(why)
            );
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}
