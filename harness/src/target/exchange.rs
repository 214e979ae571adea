//! One request and its response, recorded for reports.

use reqwest::Method;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Response bodies longer than this are cut in reports.
const BODY_LIMIT: usize = 4096;

/// A request and what came back (or why nothing did).
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
    /// Response status; 0 when there was no response.
    pub status: u16,
    /// Response headers, names lower-cased.
    pub response_headers: Vec<(String, String)>,
    /// Response body (cut at 4 KiB).
    pub body: String,
    /// The transport error, when there was no response.
    pub error: Option<String>,
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

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `STATUS` or the transport error, for messages.
    pub fn describe(&self) -> String {
        match &self.error {
            Some(e) => format!("no response ({e})"),
            None => format!("HTTP {}", self.status),
        }
    }
}

pub(super) async fn perform(
    http: &reqwest::Client,
    method: &Method,
    url: &str,
    request_headers: Vec<(String, String)>,
    request_body: Option<String>,
) -> Exchange {
    let mut req = http.request(method.clone(), url);
    for (k, v) in &request_headers {
        req = req.header(k, v);
    }
    if let Some(b) = &request_body {
        req = req.body(b.clone());
    }
    let start = Instant::now();
    let mut ex = Exchange {
        method: method.to_string(),
        url: url.to_string(),
        request_headers,
        request_body,
        status: 0,
        response_headers: Vec::new(),
        body: String::new(),
        error: None,
        elapsed: Duration::ZERO,
        retried: false,
    };
    match req.send().await {
        Ok(resp) => {
            ex.status = resp.status().as_u16();
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
            match resp.bytes().await {
                Ok(b) => {
                    let text = String::from_utf8_lossy(&b);
                    ex.body = text.chars().take(BODY_LIMIT).collect();
                }
                Err(e) => ex.error = Some(format!("body: {e}")),
            }
        }
        Err(e) => {
            ex.error = Some(if e.is_timeout() {
                "timed out".into()
            } else {
                e.to_string()
            })
        }
    }
    ex.elapsed = start.elapsed();
    ex
}
