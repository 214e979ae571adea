//! The reference servers' answers that involve no payment: health, 404 and 405 as JSON,
//! and the faulty builds' paid health check.

use crate::serve::json_response;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// `GET /health`: free.
pub(crate) async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /health` of a faulty build that charges for it.
pub(crate) async fn paid_health() -> Response {
    json_response(
        StatusCode::PAYMENT_REQUIRED,
        &json!({"error": "payment required"}),
    )
}

/// Any unknown path.
pub(crate) async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"error": "not_found"}))
}

/// A known path with a method it does not take.
pub(crate) async fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"error": "method_not_allowed"}),
    )
}
