//! `report.html`: one self-contained page; every check that did not pass shows expected
//! and actual, and each request and response behind it, with payment headers decoded.

use super::Report;
use super::junit::xml_escape as esc;
use crate::catalogue::Status;
use crate::protocol::codec::decode_base64;
use crate::target::Exchange;
use std::fmt::Write;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
.pass{color:#176f2c}.fail,.error{color:#b00020}.warn{color:#9a6700}.unsupported,.not-exercised{color:#666}\
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}details{margin:.3em 0 .8em 2em}";

/// Headers whose base64 JSON value is shown decoded.
const PAYMENT_HEADERS: &[&str] = &[
    "payment-required",
    "payment-response",
    "payment-signature",
    "x-payment",
    "x-payment-response",
];

/// Renders the HTML page.
pub fn render(report: &Report) -> String {
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>paycheck report</title><style>{STYLE}</style></head><body>\n<h1>paycheck report</h1>\n"
    );
    if report.incomplete {
        h.push_str(
            "<p class=\"fail\"><b>Incomplete run</b>: interrupted before every check ran.</p>\n",
        );
    }
    if !report.unproven.is_empty() {
        h.push_str("<p class=\"fail\"><b>Not proven</b>: a pass needs these graded, so this run fails closed.</p>\n<ul>\n");
        for u in &report.unproven {
            let _ = writeln!(h, "<li><code>{}</code>: {}</li>", esc(&u.id), esc(&u.why));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<table><tr><th>suite</th><th>target</th><th>pass</th><th>fail</th><th>warn</th><th>unsupported</th><th>not exercised</th><th>error</th></tr>\n");
    for s in &report.suites {
        let c = |st: Status| s.count(st);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.suite),
            esc(&s.target),
            esc(&s.target_kind),
            c(Status::Pass),
            c(Status::Fail),
            c(Status::Warn),
            c(Status::Unsupported),
            c(Status::NotExercised),
            c(Status::Error)
        );
    }
    h.push_str("</table>\n");
    for s in &report.suites {
        let _ = writeln!(h, "<h2>{}</h2>", esc(&s.suite));
        let mut section = "";
        for r in &s.results {
            if r.section != section {
                section = &r.section;
                let _ = writeln!(h, "<h3>{}</h3>", esc(section));
            }
            let _ = writeln!(
                h,
                "<div><span class=\"{0}\">{1} {0}</span> <code>{2}</code> {3} [{4}]</div>",
                r.status,
                r.status.marker(),
                esc(&r.id),
                esc(&r.title),
                r.level
            );
            if r.status == Status::Pass {
                continue;
            }
            h.push_str("<details open><summary>details</summary>\n");
            let _ = writeln!(
                h,
                "<p>{}<br><i>{}</i> ({})</p>",
                esc(&r.message),
                esc(&r.requirement),
                esc(&r.source)
            );
            if let (Some(e), Some(a)) = (&r.expected, &r.actual) {
                let _ = writeln!(
                    h,
                    "<p><b>expected</b>: {}<br><b>actual</b>: {}</p>",
                    esc(e),
                    esc(a)
                );
            }
            for ex in &r.exchanges {
                h.push_str(&exchange(ex));
            }
            h.push_str("</details>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn headers(out: &mut String, list: &[(String, String)]) {
    for (k, v) in list {
        let _ = writeln!(out, "{k}: {v}");
        if PAYMENT_HEADERS.contains(&k.to_lowercase().as_str())
            && let Ok((bytes, _)) = decode_base64(v)
            && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            let _ = writeln!(out, "  (decoded) {}", pretty.replace('\n', "\n  "));
        }
    }
}

fn exchange(ex: &Exchange) -> String {
    let mut req = format!("{} {}\n", ex.method, ex.url);
    headers(&mut req, &ex.request_headers);
    if let Some(b) = &ex.request_body {
        let _ = write!(req, "\n{b}\n");
    }
    let mut resp = match (&ex.error, ex.head_status) {
        (Some(e), Some(head)) => format!("HTTP {head}, then the answer broke off: {e}\n"),
        (Some(e), None) => format!("no response: {e}\n"),
        (None, _) => format!(
            "HTTP {} ({:.1} ms)\n",
            ex.status,
            ex.elapsed.as_secs_f64() * 1000.0
        ),
    };
    headers(&mut resp, &ex.response_headers);
    if !ex.body.is_empty() {
        let _ = write!(resp, "\n{}\n", ex.body);
    }
    format!(
        "<p>request</p><pre>{}</pre><p>response</p><pre>{}</pre>\n",
        esc(&req),
        esc(&resp)
    )
}
