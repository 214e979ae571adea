//! HTTP handlers of the mock Lightning backend: the LNbits payments API, and the admin
//! routes.

use super::LightningState;
use super::book::{InvoiceStatus, PayRefusal};
use super::journal::{LnEndpoint, LnEntry, LnVerdict};
use crate::mocks::faults::{Fault, act};
use crate::protocol::Mode;
use crate::protocol::l402::decode_invoice;
use crate::serve::json_response;
use alloy::primitives::hex;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Shared = State<Arc<LightningState>>;

/// LNbits' memo limit.
const MEMO_LIMIT: usize = 640;

pub(super) fn router(state: Arc<LightningState>) -> Router {
    Router::new()
        .route("/api/v1/payments", post(payments))
        .route("/api/v1/payments/{hash}", get(lookup))
        .route("/_paycheck/journal", get(journal))
        .route("/_paycheck/faults", get(faults).put(faults).delete(faults))
        .route("/_paycheck/reset", post(reset))
        .fallback(not_found)
        .with_state(state)
}

/// LNbits' error shape.
fn detail(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"detail": message}))
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

fn entry(endpoint: LnEndpoint, api_key: bool) -> LnEntry {
    LnEntry {
        seq: 0,
        at_ms: 0,
        endpoint,
        status: 200,
        payment_hash: None,
        amount_msat: None,
        api_key,
        verdict: LnVerdict::Refused {
            reason: String::new(),
        },
    }
}

/// Records `e` with `status` and `verdict`, and returns `response`.
fn answer(
    state: &LightningState,
    mut e: LnEntry,
    status: StatusCode,
    verdict: LnVerdict,
    response: Response,
) -> Response {
    e.status = status.as_u16();
    e.verdict = verdict;
    state.journal.record(e);
    response
}

fn refuse(state: &LightningState, e: LnEntry, status: StatusCode, reason: &str) -> Response {
    answer(
        state,
        e,
        status,
        LnVerdict::Refused {
            reason: reason.into(),
        },
        detail(status, reason),
    )
}

/// Applies a scheduled fault for `endpoint`; `Some` is the answer to send instead.
async fn fault_answer(
    state: &LightningState,
    endpoint: LnEndpoint,
    e: &LnEntry,
    correct: &Value,
) -> Result<Option<Fault>, Response> {
    let Some(fault) = state.faults.take(endpoint) else {
        return Ok(None);
    };
    match act(&fault, correct, state.stop.clone()).await {
        Some((status, response)) => {
            let verdict = LnVerdict::Fault {
                fault: fault.name(),
            };
            Err(answer(state, e.clone(), status, verdict, response))
        }
        None => Ok(Some(fault)),
    }
}

/// `POST /api/v1/payments`: create (`"out": false`) or pay (`"out": true`, the default).
async fn payments(
    State(state): Shared,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or(query.get("api-key").map(String::as_str))
        .is_some_and(|k| !k.trim().is_empty());
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let e = entry(LnEndpoint::Create, api_key);
            return refuse(
                &state,
                e,
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object",
            );
        }
    };
    // LNbits: a missing "out" means out = true, a payment.
    let out = request.get("out").and_then(Value::as_bool).unwrap_or(true);
    let endpoint = if out {
        LnEndpoint::Pay
    } else {
        LnEndpoint::Create
    };
    let e = entry(endpoint, api_key);
    if !api_key {
        return refuse(&state, e, StatusCode::UNAUTHORIZED, "No Api Key provided.");
    }
    if out {
        pay(&state, e, &request).await
    } else {
        create(&state, e, &request).await
    }
}

async fn create(state: &LightningState, mut e: LnEntry, request: &Value) -> Response {
    let unit = request.get("unit").and_then(Value::as_str).unwrap_or("sat");
    if unit != "sat" {
        let reason = format!("unit '{unit}': the mock Lightning backend prices in sat only");
        return refuse(state, e, StatusCode::BAD_REQUEST, &reason);
    }
    let Some(amount) = request
        .get("amount")
        .and_then(Value::as_f64)
        .filter(|a| a.is_finite() && *a >= 1.0 && a.fract() == 0.0)
    else {
        return refuse(
            state,
            e,
            StatusCode::BAD_REQUEST,
            "amount must be a whole number of sat, at least 1",
        );
    };
    let memo = request.get("memo").and_then(Value::as_str).unwrap_or("");
    if memo.chars().count() > MEMO_LIMIT {
        return refuse(
            state,
            e,
            StatusCode::BAD_REQUEST,
            "memo is over 640 characters",
        );
    }
    let expiry = request
        .get("expiry")
        .and_then(Value::as_u64)
        .map_or(state.default_expiry, Duration::from_secs);
    let amount_msat = amount as u64 * 1000;
    e.amount_msat = Some(amount_msat);
    let placeholder = json!({"payment_hash": "0".repeat(64), "payment_request": "lnbcrt1"});
    if let Err(resp) = fault_answer(state, LnEndpoint::Create, &e, &placeholder).await {
        return resp;
    }
    let issued = state.book.issue(amount_msat, memo, expiry);
    let hash = hex::encode(issued.payment_hash);
    e.payment_hash = Some(hash.clone());
    let body = json!({
        "payment_hash": hash,
        "payment_request": issued.bolt11,
        "bolt11": issued.bolt11,
        "checking_id": hash,
        "amount": amount_msat,
        "memo": memo,
        "expiry": expiry.as_secs(),
        "status": "pending",
    });
    answer(
        state,
        e,
        StatusCode::CREATED,
        LnVerdict::Created,
        json_response(StatusCode::CREATED, &body),
    )
}

async fn pay(state: &LightningState, mut e: LnEntry, request: &Value) -> Response {
    let Some(bolt11) = request.get("bolt11").and_then(Value::as_str) else {
        return refuse(state, e, StatusCode::BAD_REQUEST, "Missing BOLT11 invoice");
    };
    if let Ok(inv) = decode_invoice(bolt11, Mode::Lenient) {
        e.payment_hash = Some(hex::encode(inv.payment_hash));
        e.amount_msat = inv.amount_msat;
    }
    let placeholder = json!({"payment_hash": e.payment_hash, "status": "success"});
    let fault = match fault_answer(state, LnEndpoint::Pay, &e, &placeholder).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    match fault {
        Some(Fault::SettleFailure) => {
            let body = json!({"detail": "Payment failed (injected fault)", "status": "failed"});
            let verdict = LnVerdict::Fault {
                fault: "settle-failure".into(),
            };
            let status = StatusCode::from_u16(520).expect("520 is a status code");
            return answer(state, e, status, verdict, json_response(status, &body));
        }
        Some(Fault::Pending) => {
            let body = json!({"payment_hash": e.payment_hash, "checking_id": e.payment_hash, "status": "pending"});
            let verdict = LnVerdict::Fault {
                fault: "pending".into(),
            };
            return answer(
                state,
                e,
                StatusCode::CREATED,
                verdict,
                json_response(StatusCode::CREATED, &body),
            );
        }
        _ => {}
    }
    match state.book.pay(bolt11) {
        Ok((record, hash)) => {
            let hash = hex::encode(hash);
            let body = json!({
                "payment_hash": hash,
                "checking_id": hash,
                "status": "success",
                "preimage": hex::encode(record.preimage),
                "amount": -(record.amount_msat as i64),
                "fee": 0,
            });
            answer(
                state,
                e,
                StatusCode::CREATED,
                LnVerdict::Paid,
                json_response(StatusCode::CREATED, &body),
            )
        }
        Err(refusal) => {
            let status = match refusal {
                PayRefusal::Malformed(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::from_u16(520).expect("520 is a status code"),
            };
            let body = json!({"detail": format!("Payment failed: {refusal}"), "status": "failed"});
            let verdict = LnVerdict::Refused {
                reason: refusal.to_string(),
            };
            answer(state, e, status, verdict, json_response(status, &body))
        }
    }
}

/// `GET /api/v1/payments/{hash}`: `{"paid": …}`; the preimage only once paid.
async fn lookup(State(state): Shared, headers: HeaderMap, Path(hash): Path<String>) -> Response {
    let mut e = entry(LnEndpoint::Lookup, headers.contains_key("x-api-key"));
    e.payment_hash = Some(hash.to_lowercase());
    let key: Option<[u8; 32]> = hex::decode(&hash).ok().and_then(|b| b.try_into().ok());
    let record = key.and_then(|k| state.book.lookup(&k));
    let correct = json!({"paid": record.as_ref().is_some_and(|r| r.status == InvoiceStatus::Paid)});
    if let Err(resp) = fault_answer(&state, LnEndpoint::Lookup, &e, &correct).await {
        return resp;
    }
    let Some(record) = record else {
        return refuse(&state, e, StatusCode::NOT_FOUND, "Payment does not exist.");
    };
    e.amount_msat = Some(record.amount_msat);
    let paid = record.status == InvoiceStatus::Paid;
    let now = crate::payer::unix_now();
    let status = match (paid, record.expired_at(now)) {
        (true, _) => "success",
        (false, true) => "failed",
        (false, false) => "pending",
    };
    let mut body = json!({"paid": paid, "status": status});
    if paid {
        body["preimage"] = json!(hex::encode(record.preimage));
    }
    answer(
        &state,
        e,
        StatusCode::OK,
        LnVerdict::Answered { paid },
        json_response(StatusCode::OK, &body),
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
    state.faults.admin(&method, &body, "create=status:503")
}

async fn reset(State(state): Shared) -> Response {
    state.faults.clear();
    state.journal.clear();
    state.book.clear();
    json_response(StatusCode::OK, &json!({"reset": true}))
}
