//! The reference server against a scripted facilitator (wiremock): it believes only
//! well-formed answers, and a positive one only with a 2xx status.

mod common;

use common::Stack;
use paycheck::protocol::Dialect;
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn scripted(verify: ResponseTemplate, settle: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/verify"))
        .respond_with(verify)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/settle"))
        .respond_with(settle)
        .mount(&server)
        .await;
    server
}

fn valid() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"isValid": true, "payer": "0x0000000000000000000000000000000000000001"}),
    )
}

fn settled(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "success": true, "transaction": "0xabc", "network": "eip155:84532", "payer": "0x0000000000000000000000000000000000000001"
    }))
}

async fn pay_against(facilitator: &MockServer) -> u16 {
    let stack = Stack::start_with(Dialect::X402V2, |c| c.facilitator_url = facilitator.uri()).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, None);
    let status = stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await
        .status()
        .as_u16();
    stack.stop().await;
    status
}

#[tokio::test]
async fn a_success_body_with_a_503_is_not_believed() {
    let facilitator = scripted(valid(), settled(503)).await;
    assert_eq!(pay_against(&facilitator).await, 502);
}

#[tokio::test]
async fn a_negative_answer_is_believed_at_any_status() {
    let invalid = ResponseTemplate::new(400)
        .set_body_json(json!({"isValid": false, "invalidReason": "insufficient_funds"}));
    let facilitator = scripted(invalid, settled(200)).await;
    assert_eq!(pay_against(&facilitator).await, 402);
    let requests = facilitator.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "no settle after an invalid verify");
}

#[tokio::test]
async fn a_well_formed_success_is_served() {
    let facilitator = scripted(valid(), settled(200)).await;
    assert_eq!(pay_against(&facilitator).await, 200);
    let requests = facilitator.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["x402Version"], 2);
    assert!(body["paymentPayload"]["accepted"] == body["paymentRequirements"]);
}
