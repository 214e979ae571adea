//! The reference server under each facilitator fault: it never serves what was not paid,
//! and answers within its timeout.

mod common;

use common::{Challenge, Stack};
use paycheck::mocks::facilitator::journal::Endpoint;
use paycheck::protocol::facilitator::SettlementResponse;
use paycheck::protocol::reasons::{SETTLEMENT_PENDING, UNEXPECTED_SETTLE_ERROR};
use paycheck::protocol::{Dialect, Mode, decode_header};
use reqwest::Method;
use std::time::Duration;

/// Pays `/premium` with `rule` in force; returns the status and body.
async fn paid_under(stack: &Stack, rule: &str) -> (u16, String, Option<String>) {
    stack.facilitator.faults().set(vec![rule.parse().unwrap()]);
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, None);
    let resp = stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await;
    let receipt = resp
        .headers()
        .get("payment-response")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), resp.text().await.unwrap(), receipt)
}

#[tokio::test]
async fn transport_faults_are_never_served() {
    let stack = Stack::start(Dialect::X402V2).await;
    for rule in [
        "verify=status:503",
        "verify=html502",
        "verify=non-json",
        "verify=truncated",
        "settle=status:500",
        "settle=html502",
        "settle=non-json",
        "settle=truncated",
    ] {
        let (status, body, receipt) = paid_under(&stack, rule).await;
        assert_eq!(status, 502, "{rule}: {body}");
        assert!(
            !body.contains("premium market data"),
            "{rule} served the resource"
        );
        assert!(receipt.is_none(), "{rule}");
        assert!(body.contains("facilitator_unavailable"));
    }
    assert_eq!(
        stack
            .facilitator
            .ledger()
            .balance(paycheck::reference::MERCHANT),
        paycheck::mocks::FacilitatorConfig::default().default_balance
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_failed_settlement_is_402_and_a_pending_one_503_each_with_the_receipt() {
    let stack = Stack::start(Dialect::X402V2).await;
    for (rule, reason, expected) in [
        ("settle=settle-failure", UNEXPECTED_SETTLE_ERROR, 402),
        // No fresh challenge while pending: the payer would pay twice.
        ("settle=pending", SETTLEMENT_PENDING, 503),
    ] {
        let (status, body, receipt) = paid_under(&stack, rule).await;
        assert_eq!(status, expected, "{rule}");
        assert!(!body.contains("premium market data"));
        let receipt =
            decode_header::<SettlementResponse>(Dialect::X402V2, Mode::Strict, &receipt.unwrap())
                .unwrap()
                .value;
        assert!(!receipt.success);
        assert_eq!(receipt.error_reason.as_deref(), Some(reason));
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_hanging_facilitator_gets_a_504_within_the_timeout() {
    let stack = Stack::start_with(Dialect::X402V2, |c| {
        c.facilitator_timeout = Duration::from_millis(300)
    })
    .await;
    for rule in ["verify=hang", "settle=hang"] {
        let (status, body, _) = paid_under(&stack, rule).await;
        assert_eq!(status, 504, "{rule}: {body}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn latency_delays_but_does_not_break_payment() {
    let stack = Stack::start(Dialect::X402V2).await;
    let (status, _, receipt) = paid_under(&stack, "*=latency:20ms").await;
    assert_eq!(status, 200);
    assert!(receipt.is_some());
    stack.stop().await;
}

#[tokio::test]
async fn limited_faults_expire_so_a_retry_pays_once() {
    let stack = Stack::start(Dialect::X402V2).await;
    stack
        .facilitator
        .faults()
        .set(vec!["settle=status:503x1".parse().unwrap()]);
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, nonce) = stack.pay(&challenge, None);
    assert_eq!(
        stack
            .send(Method::GET, "/premium", Some(&header), None)
            .await
            .status(),
        502
    );
    assert_eq!(
        stack
            .send(Method::GET, "/premium", Some(&header), None)
            .await
            .status(),
        200
    );
    let journal = stack.facilitator.journal();
    assert_eq!(journal.settlements_of(&nonce), 1);
    assert_eq!(
        journal.calls_for_nonce(&nonce),
        vec![
            Endpoint::Verify,
            Endpoint::Settle,
            Endpoint::Verify,
            Endpoint::Settle
        ]
    );
    stack.stop().await;
}

#[tokio::test]
async fn concurrent_copies_of_one_payment_succeed_at_most_once() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, nonce) = stack.pay(&challenge, None);
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..8 {
        // Each copy under its own payment-identifier id: copies under one id would rightly
        // share the first answer (payment-id/concurrent grades that).
        let request = stack
            .http
            .get(stack.url("/premium"))
            .header("PAYMENT-SIGNATURE", stack.under_fresh_id(&header));
        copies.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses: Vec<u16> = copies.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 402),
        "{statuses:?}"
    );
    assert_eq!(stack.facilitator.journal().settlements_of(&nonce), 1);
    stack.stop().await;
}

#[tokio::test]
async fn a_v1_settlement_failure_carries_x_payment_response() {
    let stack = Stack::start(Dialect::X402V1).await;
    stack
        .facilitator
        .faults()
        .set(vec!["settle=settle-failure".parse().unwrap()]);
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, None);
    let resp = stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await;
    assert_eq!(resp.status(), 402);
    assert!(resp.headers().get("x-payment-response").is_some());
    let again = Challenge::read(Dialect::X402V1, resp).await;
    assert_eq!(again.error(), Some(UNEXPECTED_SETTLE_ERROR));
    stack.stop().await;
}
