//! The payment flow of a paid route: challenge, read the payment, verify, run the handler,
//! settle, answer.

use super::ReferenceConfig;
use super::facilitator_client::{FacilitatorClient, FacilitatorError};
use super::offers::{PaidRoute, offer_json, payment_required};
use crate::protocol::codec::encode_base64;
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::reasons::{INVALID_PAYLOAD, INVALID_PAYMENT_REQUIREMENTS};
use crate::protocol::v1::PaymentPayloadV1;
use crate::protocol::v2::PaymentPayload;
use crate::protocol::{DecodeError, Dialect, Mode, decode_header, encode_header};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What a paid handler produced: its status and JSON body.
pub struct HandlerOutput {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
}

/// The shared state of one reference server.
pub struct Paywall {
    /// Its configuration.
    pub config: ReferenceConfig,
    /// Its facilitator client.
    pub facilitator: FacilitatorClient,
}

/// One paid request, as the paywall sees it.
pub struct PaidRequest<'a> {
    /// The method used.
    pub method: &'a Method,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a Bytes,
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The payment header errors a server may tolerate: encoding flavours and spaces, which
/// change nothing about the payment itself.
fn only_encoding_deviations(e: &DecodeError) -> bool {
    let devs = e.deviations();
    !devs.is_empty()
        && devs
            .iter()
            .all(|d| d.rule.starts_with("base64.") || d.rule == "json.not-compact")
}

impl Paywall {
    /// The resource URL as the client asked for it.
    fn resource_url(&self, headers: &HeaderMap, route: &PaidRoute) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}{}", route.path)
    }

    /// A challenge (402, or `status`) carrying the requirements and `error`.
    fn challenge(&self, status: StatusCode, url: &str, route: &PaidRoute, error: &str) -> Response {
        let required = payment_required(&self.config, route, url, error);
        let dialect = self.config.dialect;
        let mut response = match dialect {
            Dialect::X402V1 => json_response(status, &required),
            // The v2 body is the server's choice; the spec's example is `{}` for a 402.
            Dialect::X402V2 if status == StatusCode::PAYMENT_REQUIRED => {
                json_response(status, &json!({}))
            }
            Dialect::X402V2 => json_response(status, &json!({"error": error})),
            // t402 servers repeat the requirements in the body (protocols.md §6).
            Dialect::T402 => json_response(status, &required),
        };
        if let Some(name) = dialect.required_header() {
            let value = encode_base64(required.to_string().as_bytes());
            response.headers_mut().insert(
                name,
                HeaderValue::from_str(&value).expect("base64 is a valid header value"),
            );
        }
        response
    }

    fn with_settlement(&self, mut response: Response, settlement: &SettlementResponse) -> Response {
        let value = encode_header(self.config.dialect, settlement);
        response.headers_mut().insert(
            self.config.dialect.response_header(),
            HeaderValue::from_str(&value).expect("base64 is a valid header value"),
        );
        response
    }

    /// Handles a request to a paid route; `handler` runs only for a verified payment.
    pub async fn handle(
        &self,
        route: &PaidRoute,
        request: PaidRequest<'_>,
        handler: impl FnOnce(&Bytes) -> HandlerOutput,
    ) -> Response {
        let dialect = self.config.dialect;
        let url = self.resource_url(request.headers, route);
        let payment = request.headers.get(dialect.payment_header());
        // A HEAD is never charged: it always gets the challenge.
        let Some(payment) = payment.filter(|_| request.method != Method::HEAD) else {
            let error = format!("{} header is required", dialect.payment_header());
            return self.challenge(StatusCode::PAYMENT_REQUIRED, &url, route, &error);
        };
        let Ok(payment) = payment.to_str() else {
            return self.malformed(&url, route, "the payment header is not ASCII");
        };
        let offer = offer_json(&self.config, route, &url);
        let payload_json = match self.read_payment(payment) {
            Ok(json) => json,
            Err(e) => return self.malformed(&url, route, &e.to_string()),
        };
        if !self.matches_offer(&payload_json, &offer) {
            let error = format!(
                "{INVALID_PAYMENT_REQUIREMENTS}: the payment does not match this route's offer"
            );
            return self.challenge(StatusCode::PAYMENT_REQUIRED, &url, route, &error);
        }
        let body = json!({
            dialect.version_key(): dialect.version(),
            "paymentPayload": payload_json,
            "paymentRequirements": offer,
        });
        match self.facilitator.verify(dialect, &body).await {
            Ok(v) if v.is_valid => {}
            Ok(v) => {
                let reason = v.invalid_reason.unwrap_or_else(|| "payment_invalid".into());
                return self.challenge(StatusCode::PAYMENT_REQUIRED, &url, route, &reason);
            }
            Err(e) => return facilitator_failure(&e),
        }
        let output = handler(request.body);
        if !output.status.is_success() {
            // Nothing is settled when the handler fails.
            return json_response(output.status, &output.body);
        }
        match self.facilitator.settle(dialect, &body).await {
            Ok(s) if s.success => {
                let mut response = json_response(output.status, &output.body);
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                self.with_settlement(response, &s)
            }
            Ok(s) => {
                let reason = s
                    .error_reason
                    .clone()
                    .unwrap_or_else(|| "settlement_failed".into());
                let response = self.challenge(StatusCode::PAYMENT_REQUIRED, &url, route, &reason);
                self.with_settlement(response, &s)
            }
            Err(e) => facilitator_failure(&e),
        }
    }

    /// Decodes the payment header; returns the payload as wire JSON.
    fn read_payment(&self, header: &str) -> Result<Value, DecodeError> {
        let dialect = self.config.dialect;
        let read = |mode| match dialect {
            Dialect::X402V1 => {
                decode_header::<PaymentPayloadV1>(dialect, mode, header).map(|d| d.json)
            }
            _ => decode_header::<PaymentPayload>(dialect, mode, header).map(|d| d.json),
        };
        match read(Mode::Strict) {
            Err(e) if only_encoding_deviations(&e) => read(Mode::Lenient),
            other => other,
        }
    }

    /// v2 and t402: `accepted` must equal the offer (key order aside). v1: scheme and network.
    fn matches_offer(&self, payload: &Value, offer: &Value) -> bool {
        match self.config.dialect {
            Dialect::X402V1 => {
                payload.get("scheme") == offer.get("scheme")
                    && payload.get("network") == offer.get("network")
            }
            _ => payload.get("accepted") == Some(offer),
        }
    }

    fn malformed(&self, url: &str, route: &PaidRoute, detail: &str) -> Response {
        let error = format!("{INVALID_PAYLOAD}: {detail}");
        self.challenge(StatusCode::BAD_REQUEST, url, route, &error)
    }
}

/// The answer when the facilitator failed: never the resource, never internals.
fn facilitator_failure(e: &FacilitatorError) -> Response {
    let status = match e {
        FacilitatorError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    tracing::warn!(error = %e, "facilitator call failed");
    json_response(
        status,
        &json!({"error": "facilitator_unavailable", "message": e.to_string()}),
    )
}
