//! The payment flow of a paid route: challenge, read the payment, verify, run the handler,
//! settle, answer. The [`ReferenceFault`] hooks break one step each for the mutation matrix;
//! with no fault the flow is the correct one.

use super::facilitator_client::{FacilitatorClient, FacilitatorError};
use super::faults::ReferenceFault;
use super::idempotency::{Binding, IdempotencyStore, Lookup, Reservation, wait_for};
use super::offers::{PaidRoute, offer_json, paid_routes, payment_required};
use super::outbox::Outbox;
use super::{PaymentIdMode, ReferenceConfig};
use crate::protocol::codec::encode_base64;
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::payment_id;
use crate::protocol::reasons::{INVALID_PAYLOAD, INVALID_PAYMENT_REQUIREMENTS, SETTLEMENT_PENDING};
use crate::protocol::v1::PaymentPayloadV1;
use crate::protocol::v2::PaymentPayload;
use crate::protocol::{DecodeError, Dialect, Mode, decode_header, encode_header, to_wire_json};
use crate::serve::json_response;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

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
    /// Authorizations (nonces) served once (used only by the `replay-cache` fault).
    pub served: Mutex<HashSet<String>>,
    /// The `payment-identifier` ids seen and their answers.
    ids: IdempotencyStore,
    /// Settlements begun and not answered (only under `resettle-on-restart`).
    outbox: Option<Outbox>,
}

/// Marks an answer whose payment was settled: the answer a resend of its id gets.
#[derive(Debug, Clone, Copy)]
struct Settled;

/// One paid request, as the paywall sees it.
pub struct PaidRequest<'a> {
    /// The method used.
    pub method: &'a Method,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a Bytes,
}

fn output_response(output: &HandlerOutput) -> Response {
    json_response(output.status, &output.body)
}

/// The payment header errors a server may tolerate: encoding flavours and spaces, which
/// change nothing about the payment itself.
fn only_encoding_deviations(e: &DecodeError) -> bool {
    matches!(e, DecodeError::Deviations(_))
        && e.deviations()
            .iter()
            .all(|d| d.rule.starts_with("base64.") || d.rule == "json.not-compact")
}

impl Paywall {
    /// A paywall for `config`.
    pub fn new(config: ReferenceConfig) -> Self {
        let timeout = if config.fault == Some(ReferenceFault::NoTimeout) {
            Duration::from_secs(60)
        } else {
            config.facilitator_timeout
        };
        let facilitator = FacilitatorClient::new(&config.facilitator_url, timeout);
        let outbox = (config.fault == Some(ReferenceFault::ResettleOnRestart))
            .then(|| Outbox::new(&config.facilitator_url, config.dialect.wire_name()));
        if let Some(outbox) = &outbox {
            // The naive recovery: what an earlier life left unanswered is settled again.
            let pending = outbox.take_all();
            let (client, dialect) = (facilitator.clone(), config.dialect);
            tokio::spawn(async move {
                for body in pending {
                    let _ = client.settle(dialect, &body).await;
                }
            });
        }
        Self {
            facilitator,
            config,
            served: Mutex::new(HashSet::new()),
            ids: IdempotencyStore::default(),
            outbox,
        }
    }

    fn has(&self, fault: ReferenceFault) -> bool {
        self.config.fault == Some(fault)
    }

    /// The resource URL as the client asked for it.
    fn resource_url(&self, headers: &HeaderMap, route: &PaidRoute) -> String {
        if self.has(ReferenceFault::WrongResourceUrl) {
            return "http://example.invalid/elsewhere".into();
        }
        let path = if self.has(ReferenceFault::FirstRouteUrl) {
            paid_routes(&self.config)[0].path
        } else {
            route.path
        };
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}{path}")
    }

    /// A challenge (402, or `status`) carrying the requirements and `error`.
    fn challenge(&self, status: StatusCode, url: &str, route: &PaidRoute, error: &str) -> Response {
        let error = if self.has(ReferenceFault::NoError) {
            None
        } else {
            Some(error)
        };
        let required = payment_required(&self.config, route, url, error);
        let dialect = self.config.dialect;
        if self.has(ReferenceFault::NoRequirements) {
            return json_response(status, &json!({}));
        }
        let mut response = match dialect {
            Dialect::X402V1 | Dialect::T402V1 => json_response(status, &required),
            // The v2 body is the server's choice; the spec's example is `{}` for a 402.
            Dialect::X402V2 if status == StatusCode::PAYMENT_REQUIRED => {
                json_response(status, &json!({}))
            }
            Dialect::X402V2 => json_response(status, &json!({"error": error})),
            // t402 servers repeat the requirements in the body (protocols.md §6).
            Dialect::T402 => json_response(status, &required),
        };
        if let Some(name) = dialect.required_header() {
            let bytes = required.to_string();
            let value = if self.has(ReferenceFault::UrlSafeBase64) {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
            } else {
                encode_base64(bytes.as_bytes())
            };
            response.headers_mut().insert(
                name,
                HeaderValue::from_str(&value).expect("base64 is a valid header value"),
            );
        }
        response
    }

    /// A refusal: a challenge whose error says why (none under `silent-refusal`).
    fn refusal(&self, url: &str, route: &PaidRoute, reason: &str) -> Response {
        let reason = if self.has(ReferenceFault::SilentRefusal) {
            ""
        } else {
            reason
        };
        self.challenge(StatusCode::PAYMENT_REQUIRED, url, route, reason)
    }

    fn with_settlement(&self, mut response: Response, settlement: &SettlementResponse) -> Response {
        let value = if self.has(ReferenceFault::SpacedReceipt) {
            let json = to_wire_json(self.config.dialect, settlement);
            let spaced = serde_json::to_string(&json)
                .expect("JSON serialises")
                .replace("\":", "\": ")
                .replace(",\"", ", \"");
            encode_base64(spaced.as_bytes())
        } else {
            encode_header(self.config.dialect, settlement)
        };
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
        handler: impl Fn(&Bytes) -> HandlerOutput,
    ) -> Response {
        let dialect = self.config.dialect;
        let url = self.resource_url(request.headers, route);
        let payment = request.headers.get(dialect.payment_header());
        // A HEAD is never charged: it always gets the challenge.
        let head_is_free = !self.has(ReferenceFault::HeadCharges);
        let Some(payment) = payment.filter(|_| !(head_is_free && request.method == Method::HEAD))
        else {
            return self.unpaid(request.headers, &url, route, handler).await;
        };
        let Ok(payment) = payment.to_str() else {
            return self.malformed(&url, route, "the payment header is not ASCII");
        };
        let payload_json = match self.read_payment(payment) {
            Ok(json) => json,
            Err(e) => return self.malformed(&url, route, &e.to_string()),
        };
        // `replay-cache` remembers what it served by the authorization, not by an id.
        let authorization = payload_json
            .pointer("/payload/authorization/nonce")
            .and_then(Value::as_str)
            .unwrap_or(payment)
            .to_string();
        if self.has(ReferenceFault::ReplayCache) && self.lock_served().contains(&authorization) {
            return output_response(&handler(request.body));
        }
        // The id is looked up before verifying: a resend of a settled payment would fail
        // verification, and its answer is what the client lost.
        let reservation = match self.reserve_id(route, &url, &request, &payload_json).await {
            Ok(reservation) => reservation,
            Err(answer) => return answer,
        };
        let response = self
            .process(route, &url, &request, handler, &authorization, payload_json)
            .await;
        match reservation {
            Some(r) => {
                let settled = response.extensions().get::<Settled>().is_some();
                r.keep(response, settled).await
            }
            None => response,
        }
    }

    /// Verifies, runs the handler and settles one decoded payment.
    async fn process(
        &self,
        route: &PaidRoute,
        url: &str,
        request: &PaidRequest<'_>,
        handler: impl Fn(&Bytes) -> HandlerOutput,
        authorization: &str,
        payload_json: Value,
    ) -> Response {
        let dialect = self.config.dialect;
        let offer = self.requirements(route, url, &payload_json);
        if !self.has(ReferenceFault::TrustClientOffer) && !self.matches_offer(&payload_json, &offer)
        {
            if self.has(ReferenceFault::ServeInvalid) {
                return output_response(&handler(request.body));
            }
            let error = format!(
                "{INVALID_PAYMENT_REQUIREMENTS}: the payment does not match this route's offer"
            );
            return self.refusal(url, route, &error);
        }
        let version = if self.has(ReferenceFault::MalformedFacilitatorRequest) {
            json!(dialect.version().to_string())
        } else {
            json!(dialect.version())
        };
        if self.has(ReferenceFault::HandlerBeforeVerify) {
            let output = handler(request.body);
            if !output.status.is_success() {
                return output_response(&output);
            }
        }
        let body = json!({
            dialect.version_key(): version,
            "paymentPayload": payload_json,
            "paymentRequirements": offer,
        });
        if self.config.upfront {
            return self
                .upfront(route, url, &body, request, handler, authorization)
                .await;
        }
        if !self.has(ReferenceFault::SkipVerify) {
            match self.facilitator.verify(dialect, &body).await {
                Ok(v) if v.is_valid => {}
                Ok(_) if self.has(ReferenceFault::ServeInvalid) => {
                    return output_response(&handler(request.body));
                }
                Ok(v) => {
                    if self.has(ReferenceFault::SettleRefused) {
                        // Reads the 200 as success: what verify refused goes to settle.
                        let _ = self.facilitator.settle(dialect, &body).await;
                    }
                    let reason = v.invalid_reason.unwrap_or_else(|| "payment_invalid".into());
                    return self.refusal(url, route, &reason);
                }
                Err(_) if self.has(ReferenceFault::FailOpen) => {
                    return output_response(&handler(request.body));
                }
                Err(e) => return self.facilitator_failure(&e),
            }
        }
        let early_settlement = if self.has(ReferenceFault::SettleBeforeHandler) {
            Some(self.settle(&body).await)
        } else {
            None
        };
        let output = handler(request.body);
        if !output.status.is_success() {
            // Nothing is settled when the handler fails.
            return output_response(&output);
        }
        if self.has(ReferenceFault::SkipSettle) {
            return output_response(&output);
        }
        if self.has(ReferenceFault::ServeBeforeSettle) {
            let facilitator = self.facilitator.clone();
            tokio::spawn(async move {
                let _ = facilitator.settle(dialect, &body).await;
            });
            return output_response(&output);
        }
        let settlement = match early_settlement {
            Some(s) => s,
            None => self.settle(&body).await,
        };
        match settlement {
            Ok(s) if s.success => self.served(&output, &s, authorization),
            other => self.not_settled(other, url, route),
        }
    }

    /// Asks the facilitator to settle (noting it in the outbox under `resettle-on-restart`).
    async fn settle(&self, body: &Value) -> Result<SettlementResponse, FacilitatorError> {
        if let Some(outbox) = &self.outbox {
            outbox.add(body);
        }
        let settled = self.facilitator.settle(self.config.dialect, body).await;
        if let Some(outbox) = &self.outbox {
            outbox.remove(body);
        }
        settled
    }

    /// The `upfront` flow: settle first, then run the handler; what the handler answers
    /// (a failure included) is served with the receipt, as the offer declared.
    async fn upfront(
        &self,
        route: &PaidRoute,
        url: &str,
        body: &Value,
        request: &PaidRequest<'_>,
        handler: impl Fn(&Bytes) -> HandlerOutput,
        authorization: &str,
    ) -> Response {
        match self.settle(body).await {
            Ok(s) if s.success => self.served(&handler(request.body), &s, authorization),
            Err(_) if self.has(ReferenceFault::FailOpen) => output_response(&handler(request.body)),
            other => self.not_settled(other, url, route),
        }
    }

    /// A settled request's answer: the handler's, not publicly cacheable, with the receipt.
    fn served(
        &self,
        output: &HandlerOutput,
        s: &SettlementResponse,
        authorization: &str,
    ) -> Response {
        if self.has(ReferenceFault::ReplayCache) {
            self.lock_served().insert(authorization.to_string());
        }
        let mut response = output_response(output);
        response.extensions_mut().insert(Settled);
        if self.has(ReferenceFault::RewriteStatus) {
            *response.status_mut() = StatusCode::OK;
        }
        if !self.has(ReferenceFault::PublicCache) {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        self.with_settlement(response, s)
    }

    /// The answer when a settlement did not succeed: pending, refused or failed.
    fn not_settled(
        &self,
        settlement: Result<SettlementResponse, FacilitatorError>,
        url: &str,
        route: &PaidRoute,
    ) -> Response {
        match settlement {
            Ok(s) if is_pending(&s) && !self.has(ReferenceFault::PendingChallenge) => {
                self.with_settlement(pending_response(&s), &s)
            }
            Ok(s) => {
                let reason = s
                    .error_reason
                    .clone()
                    .unwrap_or_else(|| "settlement_failed".into());
                let response = self.refusal(url, route, &reason);
                if self.has(ReferenceFault::NoFailureReceipt) {
                    return response;
                }
                self.with_settlement(response, &s)
            }
            Err(e) => self.facilitator_failure(&e),
        }
    }

    fn lock_served(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.served.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to a request without payment: the challenge.
    async fn unpaid(
        &self,
        headers: &HeaderMap,
        url: &str,
        route: &PaidRoute,
        handler: impl Fn(&Bytes) -> HandlerOutput,
    ) -> Response {
        if self.has(ReferenceFault::No402) {
            return output_response(&handler(&Bytes::from_static(b"{}")));
        }
        if self.has(ReferenceFault::Slow402) {
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        let browser = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.contains("Mozilla"));
        if self.has(ReferenceFault::HtmlForBrowsers) && browser {
            let page = "<html><body><h1>Payment required</h1></body></html>";
            return (
                StatusCode::PAYMENT_REQUIRED,
                [(header::CONTENT_TYPE, "text/html")],
                page,
            )
                .into_response();
        }
        let error = format!(
            "{} header is required",
            self.config.dialect.payment_header()
        );
        self.challenge(StatusCode::PAYMENT_REQUIRED, url, route, &error)
    }

    /// Decodes the payment header; returns the payload as wire JSON.
    fn read_payment(&self, header: &str) -> Result<Value, DecodeError> {
        let dialect = self.config.dialect;
        let read = |mode| {
            if dialect.is_v1() {
                decode_header::<PaymentPayloadV1>(dialect, mode, header).map(|d| d.json)
            } else {
                decode_header::<PaymentPayload>(dialect, mode, header).map(|d| d.json)
            }
        };
        match read(Mode::Strict) {
            Err(e) if only_encoding_deviations(&e) => read(Mode::Lenient),
            other => other,
        }
    }

    /// The requirements the payment is checked against: the server's own offer (under
    /// `trust-client-offer`, what the client sent).
    fn requirements(&self, route: &PaidRoute, url: &str, payload: &Value) -> Value {
        let mut offer = offer_json(&self.config, route, url);
        if self.has(ReferenceFault::TrustClientOffer) {
            if self.config.dialect.is_v1() {
                if let Some(value) = payload.pointer("/payload/authorization/value") {
                    offer["maxAmountRequired"] = value.clone();
                }
            } else if let Some(accepted) = payload.get("accepted") {
                offer = accepted.clone();
            }
        }
        if self.has(ReferenceFault::AmountOnlyBinding)
            && let Some(accepted) = payload.get("accepted")
            && accepted.get("amount") == offer.get("amount")
        {
            offer = accepted.clone();
        }
        offer
    }

    /// v2 and t402: `accepted` must equal the offer (key order aside). v1: scheme and network.
    fn matches_offer(&self, payload: &Value, offer: &Value) -> bool {
        if self.config.dialect.is_v1() {
            payload.get("scheme") == offer.get("scheme")
                && payload.get("network") == offer.get("network")
        } else {
            payload.get("accepted") == Some(offer)
        }
    }

    fn malformed(&self, url: &str, route: &PaidRoute, detail: &str) -> Response {
        if self.has(ReferenceFault::Malformed500) {
            let trace = format!(
                "thread 'main' panicked at src/paywall.rs:42:7: invalid payment header: {detail}\nstack backtrace:\n   0: paywall::read_payment"
            );
            return (StatusCode::INTERNAL_SERVER_ERROR, trace).into_response();
        }
        let error = format!("{INVALID_PAYLOAD}: {detail}");
        self.challenge(StatusCode::BAD_REQUEST, url, route, &error)
    }
}

/// Whether a settlement is still pending (`settlement_pending`, x402-foundation/x402#3325).
fn is_pending(s: &SettlementResponse) -> bool {
    !s.success && s.error_reason.as_deref() == Some(SETTLEMENT_PENDING)
}

/// The answer while a settlement is pending: nothing served and no fresh challenge (the
/// payer would pay twice); the receipt names the transaction, and the client may ask
/// again later.
fn pending_response(s: &SettlementResponse) -> Response {
    let mut response = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"error": SETTLEMENT_PENDING, "transaction": s.transaction}),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

impl Paywall {
    /// The answer when the facilitator failed: never the resource, never internals (under
    /// `leak-facilitator`, the facilitator's URL and what it said).
    fn facilitator_failure(&self, e: &FacilitatorError) -> Response {
        let status = match e {
            FacilitatorError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        tracing::warn!(error = %e, "facilitator call failed");
        let message = if self.has(ReferenceFault::LeakFacilitator) {
            format!("{e:?} from {}", self.config.facilitator_url)
        } else {
            e.to_string()
        };
        json_response(
            status,
            &json!({"error": "facilitator_unavailable", "message": message}),
        )
    }
}

impl Paywall {
    /// Whether this server offers the `payment-identifier` extension (never in v1).
    fn payment_id_mode(&self) -> PaymentIdMode {
        match self.config.payment_id {
            _ if self.config.dialect.is_v1() => PaymentIdMode::Off,
            _ if self.has(ReferenceFault::IdRequiredIgnored) => PaymentIdMode::Optional,
            mode => mode,
        }
    }

    /// Reads the payment's `payment-identifier` id and looks it up: `Ok(Some)` reserves a
    /// new id for this request, `Ok(None)` is a payment without one (or a server without
    /// the extension), `Err` is the answer to send instead of processing the payment: the
    /// cached answer, 409 for an id bound to another request, 400 for a missing or
    /// malformed id.
    async fn reserve_id(
        &self,
        route: &PaidRoute,
        url: &str,
        request: &PaidRequest<'_>,
        payload: &Value,
    ) -> Result<Option<Reservation>, Response> {
        let mode = self.payment_id_mode();
        if mode == PaymentIdMode::Off {
            return Ok(None);
        }
        let id = match payment_id::id_of(payload) {
            None if mode == PaymentIdMode::Required => {
                return Err(self.bad_id(
                    url,
                    route,
                    "this server requires a payment-identifier: put an id in extensions.payment-identifier.info.id",
                ));
            }
            None => return Ok(None),
            Some(Err(e)) => return Err(self.bad_id(url, route, &e)),
            Some(Ok(id)) => id,
        };
        if !self.has(ReferenceFault::IdNoGrammar)
            && let Some(e) = payment_id::grammar_error(id)
        {
            return Err(self.bad_id(url, route, &e));
        }
        if self.has(ReferenceFault::IdIgnored) {
            return Ok(None);
        }
        let binding = Binding {
            method: request.method.to_string(),
            path: route.path,
            payload: payload.clone(),
        };
        let bound = !self.has(ReferenceFault::IdUnbound);
        let reserve = !self.has(ReferenceFault::IdNoReservation);
        match self.ids.lookup(id, binding, bound, reserve) {
            Lookup::Fresh(reservation) => Ok(Some(reservation)),
            Lookup::Cached(cached) => Err(cached.response()),
            Lookup::InFlight(rx) => {
                // The first request verifies and settles: wait as long as both may take.
                let bound = self.config.facilitator_timeout * 2 + Duration::from_secs(1);
                match wait_for(rx, bound).await {
                    Some(cached) => Err(cached.response()),
                    None => Err(in_progress()),
                }
            }
            Lookup::Conflict => Err(json_response(
                StatusCode::CONFLICT,
                &json!({
                    "error": "payment_identifier_conflict",
                    "message": "this payment-identifier id was used with another payment or route; use a fresh id"
                }),
            )),
        }
    }

    /// 400 for a payment whose `payment-identifier` id is missing or malformed.
    fn bad_id(&self, url: &str, route: &PaidRoute, detail: &str) -> Response {
        let error = format!("invalid_payment_identifier: {detail}");
        self.challenge(StatusCode::BAD_REQUEST, url, route, &error)
    }
}

/// The answer to a resend whose first request is still running or ended unsettled: a
/// retryable error, never a challenge (the payer would pay again).
fn in_progress() -> Response {
    let mut response = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({
            "error": "payment_identifier_in_progress",
            "message": "a request with this payment-identifier id is still being processed; retry shortly"
        }),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
