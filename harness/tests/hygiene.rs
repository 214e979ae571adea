//! HTTP hygiene of the reference servers: clean errors, CORS, limits, free routes.

mod common;

use base64::Engine as _;
use common::{Challenge, Stack};
use paycheck::protocol::Dialect;
use reqwest::Method;

#[tokio::test]
async fn the_health_route_is_free_and_unknown_routes_get_json_404() {
    let stack = Stack::start(Dialect::X402V2).await;
    let health = stack.send(Method::GET, "/health", None, None).await;
    assert_eq!(health.status(), 200);
    assert!(health.headers().get("payment-required").is_none());
    let missing = stack.send(Method::GET, "/nope", None, None).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/json");
    let wrong_method = stack.send(Method::DELETE, "/premium", None, None).await;
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["content-type"], "application/json");
    assert!(stack.facilitator.journal().is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn malformed_payments_get_a_clean_400() {
    for dialect in Dialect::ALL {
        let stack = Stack::start(dialect).await;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for bad in [
            "%%%not-base64%%%".to_string(),
            b64("{not json"),
            b64(r#"{"x402Version":2}"#),
            b64("[]"),
        ] {
            let resp = stack.send(Method::GET, "/premium", Some(&bad), None).await;
            assert_eq!(resp.status(), 400, "{dialect} {bad}");
            assert_eq!(resp.headers()["content-type"], "application/json");
            let body = resp.text().await.unwrap();
            assert!(body.contains("invalid_payload"), "{dialect}: {body}");
            for leak in ["panicked", "src/", ".rs:", "RUST_BACKTRACE"] {
                assert!(!body.contains(leak), "{dialect} leaked {leak}: {body}");
            }
        }
        assert!(
            stack.facilitator.journal().is_empty(),
            "{dialect}: malformed input reached the facilitator"
        );
        stack.stop().await;
    }
}

#[tokio::test]
async fn encoding_flavours_of_a_valid_payment_are_tolerated() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, None);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&header)
        .unwrap();
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let resp = stack
        .http
        .get(stack.url("/premium"))
        .header("payment-signature", url_safe)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    stack.stop().await;
}

#[tokio::test]
async fn cors_allows_and_exposes_the_payment_headers() {
    let stack = Stack::start(Dialect::X402V2).await;
    let preflight = stack
        .http
        .request(Method::OPTIONS, stack.url("/premium"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "payment-signature")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("payment-signature"), "{allowed}");
    let unpaid = stack
        .http
        .get(stack.url("/premium"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    let exposed = unpaid.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("payment-required") && exposed.contains("payment-response"),
        "{exposed}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let stack = Stack::start(Dialect::X402V2).await;
    let resp = stack
        .http
        .get(stack.url("/premium"))
        .header("PAYMENT-SIGNATURE", "A".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 431);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("request_header_fields_too_large")
    );
    stack.stop().await;
}

#[tokio::test]
async fn the_offer_names_the_url_that_was_asked_for() {
    let stack = Stack::start(Dialect::X402V2).await;
    let Challenge::V2(required) = stack.challenge(Method::GET, "/premium").await else {
        unreachable!()
    };
    assert_eq!(required.resource.url, stack.url("/premium"));
    let Challenge::V2(compute) = stack.challenge(Method::POST, "/compute").await else {
        unreachable!()
    };
    let (premium, dear): (u64, u64) = (
        required.accepts[0].amount.parse().unwrap(),
        compute.accepts[0].amount.parse().unwrap(),
    );
    assert!(dear > premium, "/compute is the dearer route");
    stack.stop().await;
}

#[tokio::test]
async fn accept_json_never_gets_html() {
    let stack = Stack::start(Dialect::X402V2).await;
    let resp = stack
        .http
        .get(stack.url("/premium"))
        .header("Accept", "text/html,application/json")
        .header("User-Agent", "Mozilla/5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 402);
    assert_eq!(resp.headers()["content-type"], "application/json");
    stack.stop().await;
}
