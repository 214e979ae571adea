//! The reference server's routes and the middleware around them.

use super::ReferenceConfig;
use super::faults::ReferenceFault;
use super::offers::{PaidRoute, paid_routes};
use super::paywall::{HandlerOutput, PaidRequest, Paywall};
use super::plain::{health, method_not_allowed, not_found, paid_health};
use crate::serve::json_response;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use tower_http::cors::{Any, CorsLayer};

struct App {
    paywall: Paywall,
    premium: PaidRoute,
    compute: PaidRoute,
}

type Shared = State<Arc<App>>;

/// Builds the router for one reference server.
pub(super) fn router(config: ReferenceConfig) -> Router {
    let [premium, compute] = paid_routes(&config);
    let limits = if config.fault == Some(ReferenceFault::NoHeaderLimit) {
        HeaderLimits {
            all: usize::MAX,
            payment: usize::MAX,
        }
    } else {
        HeaderLimits {
            all: config.max_header_bytes,
            payment: config.max_payment_header_bytes,
        }
    };
    let fault = config.fault;
    let app = Arc::new(App {
        paywall: Paywall::new(config),
        premium,
        compute,
    });
    let payment_headers = [
        HeaderName::from_static("payment-required"),
        HeaderName::from_static("payment-response"),
        HeaderName::from_static("x-payment-response"),
    ];
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::HEAD, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("payment-signature"),
            HeaderName::from_static("x-payment"),
        ])
        .expose_headers(payment_headers);
    let health_route = if fault == Some(ReferenceFault::PaidHealth) {
        get(paid_health)
    } else {
        get(health)
    };
    let premium_route = get(premium_handler).head(premium_handler);
    let premium_route = if fault == Some(ReferenceFault::MethodBypass) {
        premium_route.post(|| async { output(self::premium(&Bytes::new())) })
    } else {
        premium_route
    };
    let mut router = Router::new()
        .route("/health", health_route)
        .route("/premium", premium_route);
    if fault == Some(ReferenceFault::PathBypass) {
        // The paywall is matched on exact paths; the router also takes these spellings.
        for variant in ["/premium/", "/PREMIUM"] {
            router = router.route(
                variant,
                get(|| async { output(self::premium(&Bytes::new())) }),
            );
        }
    }
    let router = router
        .route("/compute", axum::routing::post(compute_handler))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(middleware::from_fn(move |req, next| {
            limit_headers(limits, req, next)
        }));
    if fault == Some(ReferenceFault::NoCors) {
        router
    } else {
        router.layer(cors)
    }
}

/// The request header limits, in bytes.
#[derive(Debug, Clone, Copy)]
struct HeaderLimits {
    /// All headers together.
    all: usize,
    /// The payment header alone (`PAYMENT-SIGNATURE`, `X-PAYMENT`).
    payment: usize,
}

async fn limit_headers(limits: HeaderLimits, req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let payment = ["payment-signature", "x-payment"]
        .iter()
        .filter_map(|name| req.headers().get(*name))
        .map(|v| v.len())
        .max()
        .unwrap_or(0);
    let limit = if size > limits.all {
        limits.all
    } else if payment > limits.payment {
        limits.payment
    } else {
        return next.run(req).await;
    };
    json_response(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &json!({"error": "request_header_fields_too_large", "limit_bytes": limit}),
    )
}

async fn premium_handler(
    State(app): Shared,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = OwnedRequest {
        method,
        headers,
        body,
    };
    paid(app, |app| &app.premium, premium, request).await
}

async fn compute_handler(
    State(app): Shared,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = OwnedRequest {
        method,
        headers,
        body,
    };
    paid(app, |app| &app.compute, compute, request).await
}

/// A paid request, owned so that its processing can outlive the client's connection.
struct OwnedRequest {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

/// Runs the paywall for one request in a task of its own: a client that disconnects
/// mid-settle does not cancel the settlement's bookkeeping, so the answer is kept for its
/// `payment-identifier` id (under `cancel-on-disconnect`, in the connection's task).
async fn paid(
    app: Arc<App>,
    route: fn(&App) -> &PaidRoute,
    handler: fn(&Bytes) -> HandlerOutput,
    request: OwnedRequest,
) -> Response {
    let detached = app.paywall.config.fault != Some(ReferenceFault::CancelOnDisconnect);
    let work = async move {
        let paid = PaidRequest {
            method: &request.method,
            headers: &request.headers,
            body: &request.body,
        };
        app.paywall.handle(route(&app), paid, handler).await
    };
    if !detached {
        return work.await;
    }
    match tokio::spawn(work).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a paid request's task failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "internal_error", "message": "the request failed"}),
            )
        }
    }
}

fn output(o: HandlerOutput) -> Response {
    json_response(o.status, &o.body)
}

/// The paid data.
fn premium(_: &Bytes) -> HandlerOutput {
    HandlerOutput {
        status: StatusCode::OK,
        body: json!({"data": "premium market data", "symbol": "PAY", "price": "402.00"}),
    }
}

/// The paid computation: echoes the input's size; fails on `{"fail":true}` or bad JSON;
/// `{"queue":true}` queues it (202 Accepted).
fn compute(body: &Bytes) -> HandlerOutput {
    let input: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return HandlerOutput {
                status: StatusCode::BAD_REQUEST,
                body: json!({"error": "invalid_json", "message": "the body must be a JSON value"}),
            };
        }
    };
    if input.get("fail") == Some(&Value::Bool(true)) {
        return HandlerOutput {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({"error": "computation_failed", "message": "the computation failed; you were not charged"}),
        };
    }
    if input.get("queue") == Some(&Value::Bool(true)) {
        return HandlerOutput {
            status: StatusCode::ACCEPTED,
            body: json!({"result": "queued", "input_bytes": body.len()}),
        };
    }
    HandlerOutput {
        status: StatusCode::OK,
        body: json!({"result": "computed", "input_bytes": body.len()}),
    }
}
