//! End to end: each embedded reference server is paid through the mock facilitator.

mod common;

use common::{Challenge, Stack};
use paycheck::mocks::facilitator::journal::{Endpoint, Verdict};
use paycheck::payer::WrongPayment;
use paycheck::protocol::facilitator::SettlementResponse;
use paycheck::protocol::reasons::*;
use paycheck::protocol::{Dialect, Mode, decode_header};
use reqwest::Method;

async fn pays_end_to_end(dialect: Dialect) {
    let stack = Stack::start(dialect).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    assert!(challenge.error().is_some(), "a 402 says why");
    let (header, nonce) = stack.pay(&challenge, None);

    let resp = stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let receipt = resp.headers()[dialect.response_header()]
        .to_str()
        .unwrap()
        .to_string();
    let settled = decode_header::<SettlementResponse>(dialect, Mode::Strict, &receipt)
        .unwrap()
        .value;
    assert!(settled.success);
    assert_eq!(
        settled.payer.as_deref(),
        Some(stack.payer.address().to_checksum(None).as_str())
    );
    assert!(resp.text().await.unwrap().contains("premium market data"));

    let journal = stack.facilitator.journal();
    assert_eq!(
        journal.calls_for_nonce(&nonce),
        vec![Endpoint::Verify, Endpoint::Settle]
    );
    assert_eq!(journal.settlements_of(&nonce), 1);
    assert!(
        journal
            .entries()
            .iter()
            .all(|e| e.deviations.is_empty() && e.dialect == Some(dialect))
    );

    // x402 v2 and t402 offer payment-identifier: the same payment under the same id gets
    // the first answer back, and is not settled again.
    let replay = if dialect.is_v1() {
        header
    } else {
        let resend = stack
            .send(Method::GET, "/premium", Some(&header), None)
            .await;
        assert_eq!(resend.status(), 200);
        assert_eq!(
            resend.headers()[dialect.response_header()],
            receipt.as_str()
        );
        assert_eq!(journal.settlements_of(&nonce), 1);
        stack.under_fresh_id(&header)
    };
    // The same payment again (under a new id) is refused, and not settled again.
    let replay = stack
        .send(Method::GET, "/premium", Some(&replay), None)
        .await;
    assert_eq!(replay.status(), 402);
    let again = Challenge::read(dialect, replay).await;
    assert_eq!(again.error(), Some(INVALID_TRANSACTION_STATE));
    assert_eq!(journal.settlements_of(&nonce), 1);
    stack.stop().await;
}

#[tokio::test]
async fn x402_v2_pays_end_to_end() {
    pays_end_to_end(Dialect::X402V2).await;
}

#[tokio::test]
async fn x402_v1_pays_end_to_end() {
    pays_end_to_end(Dialect::X402V1).await;
}

#[tokio::test]
async fn t402_pays_end_to_end() {
    pays_end_to_end(Dialect::T402).await;
}

async fn refuses_wrong_payments(dialect: Dialect) {
    let stack = Stack::start(dialect).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let v1 = dialect == Dialect::X402V1;
    let cases = [
        (WrongPayment::WrongSigner, INVALID_SIGNATURE),
        (WrongPayment::BadSignature, INVALID_SIGNATURE),
        (
            WrongPayment::Underpaid,
            if v1 { VALUE_V1 } else { VALUE_MISMATCH },
        ),
        (
            WrongPayment::Overpaid,
            if v1 { VALUE_V1 } else { VALUE_MISMATCH },
        ),
        (WrongPayment::WrongPayTo, RECIPIENT_MISMATCH),
        (WrongPayment::WrongNetwork, INVALID_PAYMENT_REQUIREMENTS),
        (
            WrongPayment::WrongAsset,
            if v1 {
                INVALID_SIGNATURE
            } else {
                INVALID_PAYMENT_REQUIREMENTS
            },
        ),
        (WrongPayment::Expired, VALID_BEFORE),
        (WrongPayment::NotYetValid, VALID_AFTER),
    ];
    for (wrong, reason) in cases {
        let (header, _) = stack.pay(&challenge, Some(&wrong));
        let resp = stack
            .send(Method::GET, "/premium", Some(&header), None)
            .await;
        assert_eq!(resp.status(), 402, "{dialect} {wrong}");
        let refused = Challenge::read(dialect, resp).await;
        let error = refused.error().unwrap_or_default();
        assert!(
            error.starts_with(reason),
            "{dialect} {wrong}: expected {reason}, got {error}"
        );
    }
    assert_eq!(
        stack.facilitator.journal().count(Endpoint::Settle),
        0,
        "nothing wrong is settled"
    );
    stack.stop().await;
}

#[tokio::test]
async fn x402_v2_refuses_each_wrong_payment_with_its_reason() {
    refuses_wrong_payments(Dialect::X402V2).await;
}

#[tokio::test]
async fn x402_v1_refuses_each_wrong_payment_with_its_reason() {
    refuses_wrong_payments(Dialect::X402V1).await;
}

#[tokio::test]
async fn t402_refuses_each_wrong_payment_with_its_reason() {
    refuses_wrong_payments(Dialect::T402).await;
}

#[tokio::test]
async fn a_reused_nonce_in_a_fresh_payment_is_refused() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, nonce) = stack.pay(&challenge, None);
    assert_eq!(
        stack
            .send(Method::GET, "/premium", Some(&header), None)
            .await
            .status(),
        200
    );
    let reused = WrongPayment::ReusedNonce(nonce.parse().unwrap());
    let (header, _) = stack.pay(&challenge, Some(&reused));
    let resp = stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await;
    assert_eq!(resp.status(), 402);
    assert_eq!(
        Challenge::read(Dialect::X402V2, resp).await.error(),
        Some(INVALID_TRANSACTION_STATE)
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_cheaper_routes_payment_is_refused_on_the_dearer_route() {
    for dialect in Dialect::ALL {
        let stack = Stack::start(dialect).await;
        let cheap = stack.challenge(Method::GET, "/premium").await;
        let (header, _) = stack.pay(&cheap, None);
        let resp = stack
            .send(Method::POST, "/compute", Some(&header), Some("{}"))
            .await;
        assert_eq!(resp.status(), 402, "{dialect}");
        let journal = stack.facilitator.journal();
        assert_eq!(journal.count(Endpoint::Settle), 0, "{dialect}");
        stack.stop().await;
    }
}

#[tokio::test]
async fn nothing_is_settled_when_the_handler_fails() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::POST, "/compute").await;
    let (header, nonce) = stack.pay(&challenge, None);
    let resp = stack
        .send(
            Method::POST,
            "/compute",
            Some(&header),
            Some(r#"{"fail":true}"#),
        )
        .await;
    assert_eq!(resp.status(), 500);
    assert!(resp.headers().get("payment-response").is_none());
    let body = resp.text().await.unwrap();
    assert!(body.contains("computation_failed") && !body.contains("panicked"));
    assert_eq!(
        stack.facilitator.journal().calls_for_nonce(&nonce),
        vec![Endpoint::Verify]
    );
    // The same payment still works once the handler succeeds.
    let ok = stack
        .send(Method::POST, "/compute", Some(&header), Some(r#"{"x":1}"#))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(stack.facilitator.journal().settlements_of(&nonce), 1);
    stack.stop().await;
}

#[tokio::test]
async fn a_head_is_never_charged() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, None);
    let resp = stack
        .send(Method::HEAD, "/premium", Some(&header), None)
        .await;
    assert_eq!(resp.status(), 402);
    assert!(resp.headers().get("payment-required").is_some());
    assert!(stack.facilitator.journal().is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn the_journal_records_verdicts() {
    let stack = Stack::start(Dialect::X402V2).await;
    let challenge = stack.challenge(Method::GET, "/premium").await;
    let (header, _) = stack.pay(&challenge, Some(&WrongPayment::Underpaid));
    stack
        .send(Method::GET, "/premium", Some(&header), None)
        .await;
    let entries = stack.facilitator.journal().entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].verdict,
        Verdict::Invalid {
            reason: VALUE_MISMATCH.into()
        }
    );
    stack.stop().await;
}
