//! Requests whose path reaches the server byte for byte. reqwest (through the `url` crate)
//! resolves dot segments, `%2e` included, before sending, so `/x/../premium` would leave as
//! `/premium`; a paywall-bypass probe must send the spelling itself. Sent on a fresh
//! connection with [`super::http1`], bounded like every other exchange.

use super::exchange::{BodyLimits, Exchange};
use super::http1::Http1;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use std::time::{Duration, Instant};

/// One raw request.
pub(super) struct RawRequest<'a> {
    /// `http://HOST:PORT` of the target.
    pub base_url: &'a str,
    pub method: &'a Method,
    /// The request target exactly as sent, such as `/x/../premium`.
    pub path: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<&'a str>,
    pub timeout: Duration,
    pub limits: BodyLimits,
}

/// Sends `request` on a new connection and reads its answer within its timeout.
pub(super) async fn perform_raw(request: RawRequest<'_>) -> Exchange {
    let authority = request
        .base_url
        .split_once("://")
        .map_or(request.base_url, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or(authority);
    let mut ex = Exchange {
        method: request.method.to_string(),
        url: format!("http://{authority}{}", request.path),
        request_headers: request.headers.clone(),
        request_body: request.body.map(str::to_string),
        status: 0,
        head_status: None,
        response_headers: Vec::new(),
        body: String::new(),
        body_bytes: 0,
        error: None,
        timed_out: false,
        elapsed: Duration::ZERO,
        retried: false,
    };
    let mut headers = HeaderMap::new();
    for (k, v) in &request.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.append(name, value);
        }
    }
    headers.insert("connection", HeaderValue::from_static("close"));
    if request.body.is_some() {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    let body = request.body.unwrap_or_default().as_bytes();
    let start = Instant::now();
    let exchange = async {
        let addrs: Vec<_> = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .collect();
        let mut conn = Http1::connect(&addrs).await.map_err(|f| f.message)?;
        conn.exchange(request.method, request.path, authority, &headers, body)
            .await
            .map(|(answer, _)| answer)
            .map_err(|f| f.message)
    };
    match tokio::time::timeout(request.timeout, exchange).await {
        Err(_) => {
            ex.timed_out = true;
            ex.error = Some(format!(
                "timed out after {:.1} s",
                request.timeout.as_secs_f64()
            ));
        }
        Ok(Err(e)) => ex.error = Some(e),
        Ok(Ok(answer)) => {
            ex.status = answer.status;
            ex.response_headers = answer
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            ex.body_bytes = answer.body.len() as u64;
            let kept = &answer.body[..answer.body.len().min(request.limits.keep)];
            ex.body = String::from_utf8_lossy(kept).into_owned();
        }
    }
    ex.elapsed = start.elapsed();
    ex
}
