//! One request and what came over the wire: a whole answer, or the error that cut it short.
//!
//! An exchange is *answered* only when the status line, the headers and the whole body
//! arrived. A body that fails to arrive (a reset, a stall past the timeout, a
//! Content-Length the server did not keep, a bad chunk, a body past the read cap) makes
//! the exchange an error with its cause, even when a status line came first: no check may
//! grade a half answer as if it were whole. Bodies are streamed and bounded (see
//! [`BodyLimits`]); a report shows only a short display copy.

use reqwest::Method;
use serde::Serialize;
use std::error::Error as StdError;
use std::time::{Duration, Instant};

/// How much of a response body paycheck keeps, and how much it reads at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Bytes kept for checks to read (enough for any 402; the rest is counted, not kept).
    pub keep: usize,
    /// Bytes read at most: past this paycheck stops reading and the answer is an error.
    pub cap: u64,
}

impl BodyLimits {
    /// 1 MiB kept, 16 MiB read at most.
    pub const DEFAULT: BodyLimits = BodyLimits::keeping(1024 * 1024);

    /// Keeps `keep` bytes and reads at most sixteen times that (at least 16 MiB).
    pub const fn keeping(keep: usize) -> Self {
        let cap = (keep as u64).saturating_mul(16);
        let floor = 16 * 1024 * 1024;
        Self {
            keep,
            cap: if cap < floor { floor } else { cap },
        }
    }
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The body length shown in reports; checks read the whole kept body.
const DISPLAY_LIMIT: usize = 4096;

/// A request and what came back (or why nothing whole did).
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// Method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Request headers sent.
    pub request_headers: Vec<(String, String)>,
    /// Request body sent.
    pub request_body: Option<String>,
    /// Response status; 0 unless a whole answer arrived (see [`Exchange::head_status`]).
    pub status: u16,
    /// The status line that arrived before the answer broke off, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_status: Option<u16>,
    /// Response headers, names lower-cased.
    pub response_headers: Vec<(String, String)>,
    /// Response body as text: the kept prefix (see [`BodyLimits`]); the evidence in a
    /// report is cut to 4 KiB ([`Exchange::evidence`]).
    pub body: String,
    /// How many body bytes arrived in all (kept or not).
    pub body_bytes: u64,
    /// The transport error, with its causes, when no whole answer arrived.
    pub error: Option<String>,
    /// True when the error is paycheck's timeout (the server stalled), not a refusal.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Time from sending to the end of the body.
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
    /// True when the request was sent a second time, on a new connection, because the
    /// first connection (kept alive from an earlier request) failed before any answer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// `body` cut to the display limit at a character boundary, saying how much was cut.
fn display_copy(body: &str) -> String {
    if body.len() <= DISPLAY_LIMIT {
        return body.to_string();
    }
    let mut end = DISPLAY_LIMIT;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &body[..end], body.len() - end)
}

impl Exchange {
    /// A response header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a response header, in order (for headers sent more than once, such
    /// as `WWW-Authenticate`).
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.response_headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when a whole answer arrived (status, headers and body).
    pub fn answered(&self) -> bool {
        self.error.is_none()
    }

    /// True for a 2xx status of a whole answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// True when the body arrived whole but was longer than paycheck keeps.
    pub fn body_cut(&self) -> bool {
        self.answered() && self.body_bytes > self.body.len() as u64
    }

    /// `HTTP STATUS`, or why no whole answer came, for messages.
    pub fn describe(&self) -> String {
        match (&self.error, self.head_status) {
            (None, _) => format!("HTTP {}", self.status),
            (Some(e), Some(head)) => format!("a broken answer (HTTP {head}, then {e})"),
            (Some(e), None) => format!("no answer ({e})"),
        }
    }

    /// A copy for a report: the body cut to its display length, so that evidence held for
    /// a whole run stays small whatever the server sent. Every exchange a result keeps is
    /// one of these, cut here once.
    pub fn evidence(&self) -> Exchange {
        Exchange {
            body: display_copy(&self.body),
            ..self.clone()
        }
    }
}

/// An error and each of its causes, joined with `: ` (repeats dropped): reqwest's own
/// text ("error sending request") says nothing without them.
pub fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// What a request is, before it is sent.
pub(super) struct Request<'a> {
    pub http: &'a reqwest::Client,
    pub method: &'a Method,
    pub url: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub limits: BodyLimits,
}

impl Exchange {
    /// A request about to be sent: nothing has come back yet.
    pub(super) fn unsent(
        method: &Method,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) -> Self {
        Exchange {
            method: method.to_string(),
            url,
            request_headers: headers,
            request_body: body,
            status: 0,
            head_status: None,
            response_headers: Vec::new(),
            body: String::new(),
            body_bytes: 0,
            error: None,
            timed_out: false,
            elapsed: Duration::ZERO,
            retried: false,
        }
    }
}

/// Sends a request and reads its answer within `timeout` and `limits`.
pub(super) async fn perform(request: Request<'_>) -> Exchange {
    let mut ex = Exchange::unsent(
        request.method,
        request.url.to_string(),
        request.headers.clone(),
        request.body.clone(),
    );
    let mut req = request.http.request(request.method.clone(), request.url);
    for (k, v) in &request.headers {
        req = req.header(k, v);
    }
    if let Some(b) = request.body {
        req = req.body(b);
    }
    let start = Instant::now();
    let deadline = start + request.timeout;
    let read = tokio::time::timeout_at(deadline.into(), read_answer(req, &mut ex, request.limits));
    let result = match read.await {
        Ok(result) => result,
        Err(_) => {
            ex.timed_out = true;
            Err(timed_out(request.timeout, &ex))
        }
    };
    if let Err(e) = result {
        ex.error = Some(e);
    }
    if ex.error.is_none() {
        ex.status = ex.head_status.take().unwrap_or_default();
    }
    ex.elapsed = start.elapsed();
    ex
}

/// What a timeout cut short.
fn timed_out(timeout: Duration, ex: &Exchange) -> String {
    let after = format!("{:.1} s", timeout.as_secs_f64());
    match ex.head_status {
        None => format!("timed out after {after} with no status line"),
        Some(_) => format!(
            "timed out after {after}: the body stalled after {} bytes",
            ex.body_bytes
        ),
    }
}

/// Reads the head and streams the body into `ex`, keeping `limits.keep` bytes.
async fn read_answer(
    req: reqwest::RequestBuilder,
    ex: &mut Exchange,
    limits: BodyLimits,
) -> Result<(), String> {
    let mut resp = req.send().await.map_err(|e| cause_chain(&e))?;
    ex.head_status = Some(resp.status().as_u16());
    ex.response_headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let declared = resp.content_length();
    let mut kept: Vec<u8> = Vec::new();
    let result = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                ex.body_bytes += chunk.len() as u64;
                let room = limits.keep.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
                if ex.body_bytes > limits.cap {
                    break Err(format!(
                        "a body over paycheck's read cap of {} bytes{}; stopped reading",
                        limits.cap,
                        declared.map_or(String::new(), |n| format!(" (Content-Length {n})"))
                    ));
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => {
                let mut cause = cause_chain(&e);
                if let Some(n) = declared {
                    cause = format!("{cause} after {} of {n} body bytes", ex.body_bytes);
                }
                break Err(cause);
            }
        }
    };
    // A whole body whose Content-Type says JSON must read as JSON: a cut one is how a
    // Content-Length shorter than what the server wrote shows itself (HTTP framing alone
    // cannot tell). A body longer than paycheck keeps is not judged.
    let whole = ex.body_bytes == kept.len() as u64;
    let result = result.and_then(
        |()| match not_declared_json(ex.header("content-type"), &kept) {
            Some(why) if whole => Err(why),
            _ => Ok(()),
        },
    );
    ex.body = String::from_utf8_lossy(&kept).into_owned();
    result
}

/// Why a whole, non-empty body is not the JSON its `content_type` declares, if it is not
/// (the conformance client and the load engine judge bodies alike). Only one JSON document
/// is declared by `application/json` and `+json` types; `application/x-ndjson` and the
/// like are streams of them, and are not judged.
pub fn not_declared_json(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    let media_type = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    let declares_json = media_type
        .as_deref()
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if !declares_json || body.is_empty() {
        return None;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .err()
        .map(|e| {
            format!(
                "a {}-byte body that is not the JSON its Content-Type declares ({e}); a Content-Length shorter than the body cuts it so",
                body.len()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_copies_are_cut_at_a_character_boundary() {
        let body = "é".repeat(DISPLAY_LIMIT);
        let shown = display_copy(&body);
        assert!(
            shown.len() < body.len() && shown.contains("more bytes"),
            "{shown}"
        );
        assert_eq!(display_copy("short"), "short");
    }

    #[test]
    fn only_a_declared_json_document_must_parse() {
        let cut = br#"{"x402Vers"#;
        for declared in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(
                not_declared_json(Some(declared), cut).is_some(),
                "{declared}"
            );
            assert!(
                not_declared_json(Some(declared), b"{}").is_none(),
                "{declared}"
            );
        }
        for not_one_document in ["application/x-ndjson", "application/json-seq", "text/plain"] {
            assert!(
                not_declared_json(Some(not_one_document), cut).is_none(),
                "{not_one_document}"
            );
        }
        assert!(not_declared_json(None, cut).is_none());
        assert!(not_declared_json(Some("application/json"), b"").is_none());
    }

    #[test]
    fn limits_read_sixteen_times_what_they_keep() {
        assert_eq!(BodyLimits::DEFAULT.keep, 1 << 20);
        assert_eq!(BodyLimits::DEFAULT.cap, 16 << 20);
        assert_eq!(BodyLimits::keeping(10).cap, 16 << 20);
        assert_eq!(BodyLimits::keeping(4 << 20).cap, 64 << 20);
    }

    #[test]
    fn a_cause_chain_names_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            cause_chain(&Outer(io)),
            "error sending request: reset by peer"
        );
    }
}
