//! Requests whose path reaches the server byte for byte. reqwest (through the `url` crate)
//! resolves dot segments, `%2e` included, before sending, so `/x/../premium` would leave as
//! `/premium`; a paywall-bypass probe must send the spelling itself. Sent on a fresh
//! connection with [`super::http1`], bounded like every other exchange.

use super::exchange::{BodyLimits, Exchange, not_declared_json};
use super::http1::Http1;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use std::time::{Duration, Instant};

/// One raw request.
pub(super) struct RawRequest<'a> {
    /// The target's base URL, `http://HOST[:PORT][/PREFIX]`: `path` goes after its prefix.
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
    let (authority, prefix) = split_base(request.base_url);
    let path = format!("{prefix}{}", request.path);
    let mut ex = Exchange::unsent(
        request.method,
        format!("http://{authority}{path}"),
        request.headers.clone(),
        request.body.map(str::to_string),
    );
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
        let addrs: Vec<_> = tokio::net::lookup_host(authority.as_str())
            .await
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .collect();
        let cap = usize::try_from(request.limits.cap).unwrap_or(usize::MAX);
        let mut conn = Http1::connect(&addrs)
            .await
            .map_err(|f| f.message)?
            .with_max_body(cap);
        conn.exchange(request.method, &path, &authority, &headers, body)
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
            // Judged like every other answer: a body that is not the JSON it declares
            // is a broken answer.
            let declared = answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            if kept.len() == answer.body.len()
                && let Some(why) = not_declared_json(declared, kept)
            {
                ex.head_status = Some(ex.status);
                ex.status = 0;
                ex.error = Some(why);
            }
        }
    }
    ex.elapsed = start.elapsed();
    ex
}

/// `HOST:PORT` (the scheme's port when none is given) and the path prefix (no trailing
/// `/`) of a base URL; the base URL itself when it does not parse.
fn split_base(base_url: &str) -> (String, String) {
    match reqwest::Url::parse(base_url) {
        Ok(url) => {
            // An IPv6 host comes bracketed, as an authority needs it.
            let host = url.host_str().unwrap_or("127.0.0.1");
            let port = url.port_or_known_default().unwrap_or(80);
            (
                format!("{host}:{port}"),
                url.path().trim_end_matches('/').to_string(),
            )
        }
        Err(_) => (base_url.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_base;

    #[test]
    fn a_base_url_keeps_its_prefix_and_gets_its_default_port() {
        assert_eq!(
            split_base("http://127.0.0.1:8080/api/"),
            ("127.0.0.1:8080".to_string(), "/api".to_string())
        );
        assert_eq!(
            split_base("http://localhost"),
            ("localhost:80".to_string(), String::new())
        );
        assert_eq!(
            split_base("http://[::1]:9000"),
            ("[::1]:9000".to_string(), String::new())
        );
    }
}
