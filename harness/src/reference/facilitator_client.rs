//! The reference server's client for the facilitator's `/verify` and `/settle`.

use crate::bounded::{ANSWER_LIMIT, BodyError, read_body};
use crate::protocol::facilitator::{SettlementResponse, VerifyResponse};
use crate::protocol::{Dialect, Message, Mode, decode_json};
use serde_json::Value;
use std::time::Duration;

/// Why the facilitator gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FacilitatorError {
    /// No answer within the timeout.
    #[error("the facilitator did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("the facilitator could not be reached")]
    Unreachable,
    /// An answer that is not a well-formed, believable response.
    #[error("the facilitator's answer was unusable")]
    BadAnswer,
}

/// Calls one facilitator with a timeout.
#[derive(Debug, Clone)]
pub struct FacilitatorClient {
    base: String,
    http: reqwest::Client,
}

/// A facilitator answer that may be believed: a positive one only with a 2xx status.
trait Believable {
    fn is_positive(&self) -> bool;
}

impl Believable for VerifyResponse {
    fn is_positive(&self) -> bool {
        self.is_valid
    }
}

impl Believable for SettlementResponse {
    fn is_positive(&self) -> bool {
        self.success
    }
}

impl FacilitatorClient {
    /// A client for the facilitator at `base` (a trailing `/` is dropped).
    pub fn new(base: &str, timeout: Duration) -> Self {
        let http = crate::reference::backend_client(timeout);
        Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        }
    }

    /// `POST /verify`.
    pub async fn verify(
        &self,
        dialect: Dialect,
        body: &Value,
    ) -> Result<VerifyResponse, FacilitatorError> {
        self.call(dialect, "verify", body).await
    }

    /// `POST /settle`.
    pub async fn settle(
        &self,
        dialect: Dialect,
        body: &Value,
    ) -> Result<SettlementResponse, FacilitatorError> {
        self.call(dialect, "settle", body).await
    }

    async fn call<T: Message + Believable>(
        &self,
        dialect: Dialect,
        endpoint: &str,
        body: &Value,
    ) -> Result<T, FacilitatorError> {
        let url = format!("{}/{endpoint}", self.base);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        let bytes = match read_body(response, ANSWER_LIMIT).await {
            Ok(b) => b,
            Err(BodyError::Transport(e)) => return Err(classify(e)),
            Err(BodyError::TooLarge(_)) => return Err(FacilitatorError::BadAnswer),
        };
        // Facilitators differ in status codes for negative answers (200, 400, 412, 422), so
        // a well-formed negative answer is taken at any status; a positive one only at 2xx.
        let answer = decode_json::<T>(dialect, Mode::Lenient, &bytes)
            .map_err(|_| FacilitatorError::BadAnswer)?
            .value;
        if answer.is_positive() && !status.is_success() {
            tracing::warn!(%status, endpoint, "facilitator sent a positive answer with an error status; not believed");
            return Err(FacilitatorError::BadAnswer);
        }
        Ok(answer)
    }
}

fn classify(e: reqwest::Error) -> FacilitatorError {
    if e.is_timeout() {
        FacilitatorError::Timeout
    } else if e.is_connect() {
        FacilitatorError::Unreachable
    } else {
        FacilitatorError::BadAnswer
    }
}
