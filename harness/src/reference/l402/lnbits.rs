//! The reference L402 server's client for its Lightning backend: the LNbits payments API,
//! as l402-kit's LNbits provider and most L402 servers call it.

use crate::bounded::{ANSWER_LIMIT, BodyError, read_body};
use serde_json::{Value, json};
use std::time::Duration;

/// An invoice the backend created.
#[derive(Debug, Clone)]
pub struct CreatedInvoice {
    /// Its payment hash, hex.
    pub payment_hash: String,
    /// Its BOLT11 text.
    pub bolt11: String,
}

/// Why the backend gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LnError {
    /// No answer within the timeout.
    #[error("the Lightning backend did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("the Lightning backend could not be reached")]
    Unreachable,
    /// An error status or an answer that is not what LNbits sends.
    #[error("the Lightning backend's answer was unusable ({0})")]
    BadAnswer(String),
}

/// Calls one LNbits-compatible backend with a timeout.
#[derive(Debug, Clone)]
pub struct LnbitsClient {
    base: String,
    api_key: String,
    http: reqwest::Client,
}

fn classify(e: reqwest::Error) -> LnError {
    if e.is_timeout() {
        LnError::Timeout
    } else if e.is_connect() {
        LnError::Unreachable
    } else {
        LnError::BadAnswer(e.to_string())
    }
}

impl LnbitsClient {
    /// A client for the backend at `base`, sending `api_key` as `X-Api-Key`.
    pub fn new(base: &str, api_key: &str, timeout: Duration) -> Self {
        let http = crate::reference::backend_client(timeout);
        Self {
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            http,
        }
    }

    /// Creates an invoice for `amount_sat` (`POST /api/v1/payments`, `"out": false`).
    pub async fn create_invoice(
        &self,
        amount_sat: u64,
        memo: &str,
        expiry: Duration,
    ) -> Result<CreatedInvoice, LnError> {
        let body = json!({"out": false, "amount": amount_sat, "memo": memo, "expiry": expiry.as_secs(), "unit": "sat"});
        let response = self
            .http
            .post(format!("{}/api/v1/payments", self.base))
            .header("X-Api-Key", &self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        let answer = read_json(response).await?;
        if !status.is_success() {
            return Err(LnError::BadAnswer(format!("HTTP {status}")));
        }
        let field = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_string);
        match (field("payment_hash"), field("payment_request")) {
            (Some(payment_hash), Some(bolt11)) => Ok(CreatedInvoice {
                payment_hash,
                bolt11,
            }),
            _ => Err(LnError::BadAnswer(
                "no payment_hash or payment_request".into(),
            )),
        }
    }

    /// Whether the invoice with `payment_hash` (hex) is paid (`GET /api/v1/payments/{hash}`).
    pub async fn is_paid(&self, payment_hash: &str) -> Result<bool, LnError> {
        let response = self
            .http
            .get(format!("{}/api/v1/payments/{payment_hash}", self.base))
            .header("X-Api-Key", &self.api_key)
            .send()
            .await
            .map_err(classify)?;
        let answer = read_json(response).await?;
        Ok(answer.get("paid").and_then(Value::as_bool).unwrap_or(false))
    }
}

/// A backend answer's JSON, read within [`ANSWER_LIMIT`].
async fn read_json(response: reqwest::Response) -> Result<Value, LnError> {
    let bytes = match read_body(response, ANSWER_LIMIT).await {
        Ok(b) => b,
        Err(BodyError::Transport(e)) => return Err(classify(e)),
        Err(BodyError::TooLarge(n)) => {
            return Err(LnError::BadAnswer(format!("an answer over {n} bytes")));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| LnError::BadAnswer(format!("not JSON: {e}")))
}
