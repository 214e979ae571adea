//! HTTP handlers of the mock facilitator.

use super::FacilitatorState;
use super::faults::Fault;
use super::journal::{Endpoint, JournalEntry, Verdict};
use super::verify::{Payment, Refused, ledger_refusal, read_payment, verify};
use crate::payer::unix_now;
use crate::protocol::facilitator::{
    FacilitatorRequest, SettlementResponse, SupportedKind, SupportedResponse, VerifyResponse,
};
use crate::protocol::network::v1_name;
use crate::protocol::reasons::{SETTLEMENT_PENDING, UNEXPECTED_SETTLE_ERROR};
use crate::protocol::{Deviation, Dialect, Mode, decode_value};
use crate::serve::json_response;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

type Shared = State<Arc<FacilitatorState>>;

pub(super) fn router(state: Arc<FacilitatorState>) -> Router {
    Router::new()
        .route("/supported", get(supported))
        .route("/verify", post(verify_handler))
        .route("/settle", post(settle_handler))
        .route("/_paycheck/journal", get(journal))
        .route("/_paycheck/faults", get(faults).put(faults).delete(faults))
        .route("/_paycheck/reset", post(reset))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"error": "not_found"}))
}

async fn supported(State(state): Shared) -> Response {
    let mut entry = entry(Endpoint::Supported, None, Value::Null);
    if let Some(fault) = state.faults.take(Endpoint::Supported)
        && let Some(resp) = apply_fault(&state, &fault, &mut entry, &supported_body(&state)).await
    {
        return resp;
    }
    let body = supported_body(&state);
    entry.verdict = Verdict::Listed;
    state.journal.record(entry);
    json_response(StatusCode::OK, &body)
}

fn supported_body(state: &FacilitatorState) -> Value {
    let mut kinds = Vec::new();
    for network in &state.networks.caip2 {
        kinds.push(SupportedKind {
            x402_version: 2,
            scheme: "exact".into(),
            network: network.clone(),
            extra: None,
        });
        let v1 = network
            .strip_prefix("eip155:")
            .and_then(|id| id.parse().ok())
            .and_then(v1_name);
        if let Some(name) = v1 {
            kinds.push(SupportedKind {
                x402_version: 1,
                scheme: "exact".into(),
                network: name.into(),
                extra: None,
            });
        }
    }
    let body = SupportedResponse {
        kinds,
        extensions: Some(Vec::new()),
        signers: Some(BTreeMap::from([("eip155:*".to_string(), Vec::new())])),
    };
    serde_json::to_value(body).expect("serialises")
}

fn entry(endpoint: Endpoint, dialect: Option<Dialect>, request: Value) -> JournalEntry {
    let from = |k: &str| {
        request
            .pointer(&format!("/paymentPayload/payload/authorization/{k}"))
            .and_then(Value::as_str)
            .map(str::to_lowercase)
    };
    JournalEntry {
        seq: 0,
        at_ms: 0,
        endpoint,
        dialect,
        payer: from("from"),
        nonce: from("nonce"),
        request,
        status: 200,
        verdict: Verdict::Listed,
        deviations: Vec::new(),
    }
}

/// Tells the dialect of a request body from its version key and value.
pub(super) fn detect_dialect(body: &Value) -> Dialect {
    if let Some(version) = body.get("t402Version") {
        if version.as_u64() == Some(1) {
            Dialect::T402V1
        } else {
            Dialect::T402
        }
    } else if body.get("x402Version").and_then(Value::as_u64) == Some(1) {
        Dialect::X402V1
    } else {
        Dialect::X402V2
    }
}

/// Reads a request body; a malformed one is answered 400 and journaled as the server's fault.
fn read_request(
    state: &FacilitatorState,
    endpoint: Endpoint,
    body: &Bytes,
) -> Result<(Dialect, FacilitatorRequest, JournalEntry), Box<Response>> {
    let json: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Err(Box::new(malformed(
                state,
                entry(endpoint, None, Value::Null),
                format!("body is not JSON: {e}"),
                Vec::new(),
            )));
        }
    };
    let dialect = detect_dialect(&json);
    let e = entry(endpoint, Some(dialect), json.clone());
    match decode_value::<FacilitatorRequest>(dialect, Mode::Lenient, json) {
        Ok(decoded) => {
            let mut e = e;
            e.deviations = decoded.deviations;
            Ok((dialect, decoded.value, e))
        }
        Err(err) => {
            let devs = err.deviations().to_vec();
            Err(Box::new(malformed(
                state,
                e,
                format!("not a facilitator request: {err}"),
                devs,
            )))
        }
    }
}

/// Reads the payment of a request, adding what deviates from the schema to its journal
/// entry (the `payment/facilitator-request` check grades those).
fn read_journaled(
    dialect: Dialect,
    request: &FacilitatorRequest,
    e: &mut JournalEntry,
) -> Result<Payment, Refused> {
    let (payment, deviations) = read_payment(dialect, request)?;
    e.deviations.extend(deviations);
    Ok(payment)
}

fn malformed(
    state: &FacilitatorState,
    mut e: JournalEntry,
    error: String,
    devs: Vec<Deviation>,
) -> Response {
    e.status = 400;
    e.verdict = Verdict::Malformed {
        error: error.clone(),
    };
    e.deviations = devs;
    state.journal.record(e);
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": "invalid_request", "details": error}),
    )
}

/// Applies a fault; `Some` is the response to send instead of the correct one.
async fn apply_fault(
    state: &FacilitatorState,
    fault: &Fault,
    e: &mut JournalEntry,
    correct: &Value,
) -> Option<Response> {
    let (status, response) = crate::mocks::faults::act(fault, correct, state.stop.clone()).await?;
    e.status = status.as_u16();
    e.verdict = Verdict::Fault {
        fault: fault.name(),
    };
    state.journal.record(e.clone());
    Some(response)
}

fn verify_response(result: &Result<super::verify::Approved, Refused>) -> VerifyResponse {
    match result {
        Ok(a) => VerifyResponse {
            is_valid: true,
            invalid_reason: None,
            invalid_message: None,
            payer: Some(a.payer.to_checksum(None)),
        },
        Err(r) => VerifyResponse {
            is_valid: false,
            invalid_reason: Some(r.reason.to_string()),
            invalid_message: Some(r.message.clone()),
            payer: r.payer.map(|p| p.to_checksum(None)),
        },
    }
}

async fn verify_handler(State(state): Shared, body: Bytes) -> Response {
    let (dialect, request, mut e) = match read_request(&state, Endpoint::Verify, &body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let result = read_journaled(dialect, &request, &mut e)
        .and_then(|p| verify(&p, &state.networks, &state.ledger, unix_now()));
    let answer = serde_json::to_value(verify_response(&result)).expect("serialises");
    if let Some(fault) = state.faults.take(Endpoint::Verify)
        && let Some(resp) = apply_fault(&state, &fault, &mut e, &answer).await
    {
        return resp;
    }
    e.verdict = match &result {
        Ok(_) => Verdict::Valid,
        Err(r) => Verdict::Invalid {
            reason: r.reason.into(),
        },
    };
    state.journal.record(e);
    json_response(StatusCode::OK, &answer)
}

/// `/settle`, in a task of its own: like a transaction submitted to a chain, a settlement
/// that has begun completes even when the server that asked for it goes away.
async fn settle_handler(State(state): Shared, body: Bytes) -> Response {
    match tokio::spawn(settle(state, body)).await {
        Ok(response) => response,
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "internal_error", "details": e.to_string()}),
        ),
    }
}

async fn settle(state: Arc<FacilitatorState>, body: Bytes) -> Response {
    let (dialect, request, mut e) = match read_request(&state, Endpoint::Settle, &body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    if let Some(nonce) = &e.nonce {
        state.journal.settle_began(nonce);
    }
    let network = request
        .payment_requirements
        .get("network")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let failed = |reason: &str, message: &str, payer: Option<String>, transaction: String| {
        SettlementResponse {
            success: false,
            error_reason: Some(reason.to_string()),
            error_message: Some(message.to_string()),
            payer,
            transaction,
            network: network.clone(),
            amount: None,
            extensions: None,
        }
    };
    let fault = state.faults.take(Endpoint::Settle);
    let verdict_payment = read_journaled(dialect, &request, &mut e)
        .and_then(|p| verify(&p, &state.networks, &state.ledger, unix_now()));
    let payer = verdict_payment
        .as_ref()
        .ok()
        .map(|a| a.payer.to_checksum(None));
    if let Some(f @ (Fault::SettleFailure | Fault::Pending)) = &fault {
        let (reason, tx) = match f {
            Fault::Pending => (
                SETTLEMENT_PENDING,
                format!("{:#x}", alloy::primitives::B256::repeat_byte(0xee)),
            ),
            _ => (UNEXPECTED_SETTLE_ERROR, String::new()),
        };
        let body = failed(reason, "injected settlement fault", payer, tx);
        e.verdict = Verdict::Fault { fault: f.name() };
        state.journal.record(e);
        return json_response(
            StatusCode::OK,
            &serde_json::to_value(body).expect("serialises"),
        );
    }
    if let Some(f) = &fault {
        let placeholder =
            serde_json::to_value(failed(UNEXPECTED_SETTLE_ERROR, "", None, String::new()))
                .expect("serialises");
        if let Some(resp) = apply_fault(&state, f, &mut e, &placeholder).await {
            return resp;
        }
    }
    let settled = verdict_payment.and_then(|a| {
        state
            .ledger
            .settle(a.payer, a.to, a.nonce, a.value)
            .map(|tx| (a, tx))
            .map_err(ledger_refusal)
    });
    let body = match &settled {
        Ok((a, tx)) => {
            e.verdict = Verdict::Settled {
                transaction: format!("{tx:#x}"),
            };
            SettlementResponse {
                success: true,
                error_reason: None,
                error_message: None,
                payer: Some(a.payer.to_checksum(None)),
                transaction: format!("{tx:#x}"),
                network: network.clone(),
                amount: None,
                extensions: None,
            }
        }
        Err(r) => {
            e.verdict = Verdict::Invalid {
                reason: r.reason.into(),
            };
            failed(
                r.reason,
                &r.message,
                r.payer.map(|p| p.to_checksum(None)),
                String::new(),
            )
        }
    };
    state.journal.record(e);
    json_response(
        StatusCode::OK,
        &serde_json::to_value(body).expect("serialises"),
    )
}

async fn journal(State(state): Shared) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(state.journal.entries()).expect("serialises"),
    )
}

/// `GET`, `PUT` and `DELETE /_paycheck/faults`.
async fn faults(State(state): Shared, method: Method, body: Bytes) -> Response {
    state.faults.admin(&method, &body, "settle=pending")
}

async fn reset(State(state): Shared) -> Response {
    state.faults.clear();
    state.journal.clear();
    state.ledger.reset();
    json_response(StatusCode::OK, &json!({"reset": true}))
}
