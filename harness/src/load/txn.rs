//! What each transaction sends, and what its answer must be. Both engines (open and
//! closed) use these, so the same request is judged the same way whatever drives it.
//!
//! - `unpaid`: the paid route without payment: a 402 whose challenge decodes (x402: the
//!   `PAYMENT-REQUIRED` header or the v1 body; L402: `WWW-Authenticate`).
//! - `paid`: a fresh payment from the pool: a 2xx, with a settlement receipt
//!   (`PAYMENT-RESPONSE`, `success: true`) for x402.
//! - `free`: the free route: a 2xx.
//! - `replay`: a payment used once already: never served, except in the `l402` profile,
//!   where credentials are reusable and must be served again.

use super::metrics::Violation;
use super::pool::Pool;
use super::profile::Txn;
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::l402::read_challenges;
use crate::protocol::v1::PaymentRequiredV1;
use crate::protocol::v2::PaymentRequired;
use crate::protocol::{L402Profile, Mode, Suite, decode_header, decode_json};
use crate::target::{RouteSpec, not_declared_json};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::sync::Arc;

/// Everything needed to make and judge a run's requests.
#[derive(Debug)]
pub struct Plan {
    /// The server's base URL, without a trailing slash.
    pub base_url: String,
    /// The protocol it speaks.
    pub suite: Suite,
    /// The paid route.
    pub paid: RouteSpec,
    /// The free route.
    pub free: RouteSpec,
    /// The payments.
    pub pool: Arc<Pool>,
    /// Decode every challenge and receipt (else only statuses are judged).
    pub validate: bool,
}

/// One request, ready to send.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Its transaction.
    pub txn: Txn,
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
    /// The payment's id (nonce or payment hash), for paid requests.
    pub ticket: Option<String>,
}

/// Why a transaction was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The pool of payments ran out.
    PoolExhausted,
}

fn violation(kind: &str, message: impl Into<String>) -> Option<Violation> {
    Some(Violation {
        kind: kind.into(),
        message: message.into(),
    })
}

impl Plan {
    /// Why a closed run stops when its payments run out, and what to do.
    pub fn pool_spent(&self) -> String {
        format!(
            "the {} payments made before the run ran out; set [limits] pool higher",
            self.pool.len()
        )
    }

    /// The request `txn` sends now.
    pub fn request(&self, txn: Txn) -> Result<Planned, Skip> {
        let route = match txn {
            Txn::Free => &self.free,
            _ => &self.paid,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if route.body.is_some() {
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let payment = match txn {
            Txn::Paid => Some(self.pool.take_fresh().ok_or(Skip::PoolExhausted)?),
            Txn::Replay => Some(self.pool.take_replay().ok_or(Skip::PoolExhausted)?),
            Txn::Unpaid | Txn::Free => None,
        };
        if let Some(p) = payment {
            let name = HeaderName::from_bytes(self.suite.payment_header().as_bytes())
                .expect("payment header names are valid");
            let value = HeaderValue::from_str(&p.value).expect("payments are header-safe text");
            headers.insert(name, value);
        }
        Ok(Planned {
            txn,
            method: route.method.clone(),
            path: route.path.clone(),
            headers,
            body: route.body.clone().map(Bytes::from).unwrap_or_default(),
            ticket: (txn == Txn::Paid)
                .then(|| payment.map(|p| p.nonce.clone()))
                .flatten(),
        })
    }

    /// What is wrong with an answer to `txn`, if anything.
    pub fn judge(
        &self,
        txn: Txn,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Violation> {
        if status >= 500 {
            return violation("server-error", format!("HTTP {status}"));
        }
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        if let Some(why) = not_declared_json(content_type, body) {
            return violation("broken-body", why);
        }
        let ok = (200..300).contains(&status);
        match txn {
            Txn::Unpaid if status != 402 => {
                violation("not-402", format!("HTTP {status} for an unpaid request"))
            }
            Txn::Unpaid if self.validate => self.invalid_challenge(headers, body),
            Txn::Paid if !ok => {
                violation("not-served", format!("HTTP {status} for a paid request"))
            }
            Txn::Paid if self.validate => self.bad_receipt(headers),
            Txn::Free if !ok => {
                violation("not-served", format!("HTTP {status} for the free route"))
            }
            Txn::Replay if self.suite == Suite::L402(L402Profile::Spec) && !ok => violation(
                "reuse-refused",
                format!("HTTP {status}: a paid credential is reusable in the l402 profile"),
            ),
            Txn::Replay if self.suite != Suite::L402(L402Profile::Spec) && ok => violation(
                "replay-served",
                format!("HTTP {status} for a payment used before"),
            ),
            _ => None,
        }
    }

    fn invalid_challenge(&self, headers: &HeaderMap, body: &[u8]) -> Option<Violation> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let problem = match self.suite {
            Suite::L402(_) => {
                let values: Vec<&str> = headers
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                read_challenges(&values).err().map(|e| e.to_string())
            }
            Suite::X402(d) => match d.required_header() {
                Some(name) => match header(name) {
                    None => Some(format!("no {name} header")),
                    Some(v) => decode_header::<PaymentRequired>(d, Mode::Lenient, v)
                        .err()
                        .map(|e| e.to_string()),
                },
                None => decode_json::<PaymentRequiredV1>(d, Mode::Lenient, body)
                    .err()
                    .map(|e| e.to_string()),
            },
        };
        problem.and_then(|p| violation("invalid-402", p))
    }

    fn bad_receipt(&self, headers: &HeaderMap) -> Option<Violation> {
        let Suite::X402(d) = self.suite else {
            return None;
        };
        let name = d.response_header();
        let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
            return violation("no-receipt", format!("a paid 2xx without {name}"));
        };
        match decode_header::<SettlementResponse>(d, Mode::Lenient, value) {
            Ok(r) if r.value.success => None,
            Ok(_) => violation(
                "bad-receipt",
                format!("{name} says success: false on a 2xx"),
            ),
            Err(e) => violation("bad-receipt", format!("{name}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Dialect;

    fn plan(suite: Suite) -> Plan {
        Plan {
            base_url: "http://127.0.0.1:1".into(),
            suite,
            paid: "GET /premium".parse().unwrap(),
            free: "GET /health".parse().unwrap(),
            pool: Arc::new(Pool::default()),
            validate: true,
        }
    }

    #[test]
    fn answers_are_judged_per_transaction() {
        let p = plan(Suite::X402(Dialect::X402V2));
        let none = HeaderMap::new();
        assert_eq!(
            p.judge(Txn::Unpaid, 200, &none, b"").unwrap().kind,
            "not-402"
        );
        assert_eq!(
            p.judge(Txn::Unpaid, 402, &none, b"").unwrap().kind,
            "invalid-402"
        );
        assert_eq!(
            p.judge(Txn::Paid, 200, &none, b"").unwrap().kind,
            "no-receipt"
        );
        assert_eq!(
            p.judge(Txn::Free, 503, &none, b"").unwrap().kind,
            "server-error"
        );
        assert_eq!(
            p.judge(Txn::Replay, 200, &none, b"").unwrap().kind,
            "replay-served"
        );
        assert!(p.judge(Txn::Replay, 402, &none, b"").is_none());
        assert!(p.judge(Txn::Free, 200, &none, b"").is_none());
        let l402 = plan(Suite::L402(L402Profile::Spec));
        assert_eq!(
            l402.judge(Txn::Replay, 401, &none, b"").unwrap().kind,
            "reuse-refused"
        );
        assert!(l402.judge(Txn::Paid, 200, &none, b"").is_none());
    }

    #[test]
    fn json_cut_by_a_short_content_length_is_a_broken_answer() {
        let mut p = plan(Suite::X402(Dialect::X402V2));
        p.validate = false;
        let mut json = HeaderMap::new();
        json.insert("content-type", HeaderValue::from_static("application/json"));
        let cut = p.judge(Txn::Unpaid, 402, &json, br#"{"x402Vers"#).unwrap();
        assert_eq!(cut.kind, "broken-body");
        assert!(p.judge(Txn::Unpaid, 402, &json, b"{}").is_none());
        assert!(
            p.judge(Txn::Unpaid, 402, &HeaderMap::new(), b"{\"x")
                .is_none()
        );
    }

    #[test]
    fn an_empty_pool_skips_paid_requests() {
        let p = plan(Suite::X402(Dialect::X402V2));
        assert_eq!(p.request(Txn::Paid).unwrap_err(), Skip::PoolExhausted);
        let free = p.request(Txn::Free).unwrap();
        assert_eq!((free.path.as_str(), free.ticket), ("/health", None));
    }
}
