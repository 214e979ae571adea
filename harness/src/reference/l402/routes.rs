//! The reference L402 server's routes.

use super::L402Config;
use super::faults::L402Fault;
use super::gate::{Gate, Service};
use crate::reference::plain::{health, method_not_allowed, not_found, paid_health};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use tower_http::cors::{Any, CorsLayer};

struct App {
    gate: Gate,
    premium: Service,
    compute: Service,
}

type Shared = State<Arc<App>>;

/// Builds the router for one reference L402 server.
pub(super) fn router(config: L402Config) -> Router {
    let fault = config.fault;
    let app = Arc::new(App {
        premium: Service {
            name: "premium",
            price_sat: config.premium_price_sat,
        },
        compute: Service {
            name: "compute",
            price_sat: config.compute_price_sat,
        },
        gate: Gate::new(config),
    });
    let health_route = if fault == Some(L402Fault::PaidHealth) {
        get(paid_health)
    } else {
        get(health)
    };
    let router = Router::new()
        .route("/health", health_route)
        .route("/premium", get(premium))
        .route("/compute", post(compute))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app);
    if fault == Some(L402Fault::NoCors) {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([HeaderName::from_static("www-authenticate")]),
    )
}

async fn premium(State(app): Shared, headers: HeaderMap) -> Response {
    app.gate
        .handle(&app.premium, &headers, || {
            (
                StatusCode::OK,
                json!({"data": "premium market data", "symbol": "PAY", "price": "402.00"}),
            )
        })
        .await
}

async fn compute(State(app): Shared, headers: HeaderMap, body: Bytes) -> Response {
    app.gate
        .handle(&app.compute, &headers, || {
            match serde_json::from_slice::<Value>(&body) {
                Ok(_) => (
                    StatusCode::OK,
                    json!({"result": "computed", "input_bytes": body.len()}),
                ),
                Err(_) => (
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_json", "message": "the body must be a JSON value"}),
                ),
            }
        })
        .await
}
