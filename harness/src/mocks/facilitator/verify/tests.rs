use super::*;
use crate::payer::{Payer, WrongPayment, unix_now};
use serde_json::json;

fn offer_v2() -> PaymentRequirements {
    serde_json::from_value(json!({
        "scheme": "exact", "network": "eip155:84532", "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}
    }))
    .unwrap()
}

fn offer_v1() -> PaymentRequirementsV1 {
    serde_json::from_value(json!({
        "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "resource": "http://127.0.0.1/premium", "description": "premium",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}
    }))
    .unwrap()
}

fn networks() -> Networks {
    Networks {
        caip2: vec!["eip155:84532".into()],
    }
}

fn check_v2(wrong: Option<&WrongPayment>, ledger: &Ledger) -> Result<Approved, Refused> {
    let payload = Payer::test(0).pay_v2(&offer_v2(), None, wrong).unwrap();
    let payment = Payment::V2 {
        payload,
        requirements: offer_v2(),
    };
    verify(&payment, &networks(), ledger, unix_now())
}

fn check_v1(wrong: Option<&WrongPayment>, ledger: &Ledger) -> Result<Approved, Refused> {
    let payload = Payer::test(0).pay_v1(&offer_v1(), wrong).unwrap();
    let payment = Payment::V1 {
        payload,
        requirements: offer_v1(),
    };
    verify(&payment, &networks(), ledger, unix_now())
}

fn rich() -> Ledger {
    Ledger::new(U256::from(1_000_000u64))
}

#[test]
fn a_valid_payment_is_approved_in_both_versions() {
    let a = check_v2(None, &rich()).unwrap();
    assert_eq!(a.payer, Payer::test(0).address());
    assert_eq!(a.value, U256::from(10000));
    check_v1(None, &rich()).unwrap();
}

#[test]
fn each_wrong_payment_is_refused_with_its_reason() {
    let cases = [
        (
            WrongPayment::WrongSigner,
            INVALID_SIGNATURE,
            INVALID_SIGNATURE,
        ),
        (
            WrongPayment::BadSignature,
            INVALID_SIGNATURE,
            INVALID_SIGNATURE,
        ),
        (WrongPayment::Underpaid, VALUE_MISMATCH, VALUE_V1),
        (WrongPayment::Overpaid, VALUE_MISMATCH, VALUE_V1),
        (
            WrongPayment::WrongPayTo,
            RECIPIENT_MISMATCH,
            RECIPIENT_MISMATCH,
        ),
        (WrongPayment::WrongNetwork, INVALID_NETWORK, INVALID_NETWORK),
        (
            WrongPayment::WrongAsset,
            INVALID_PAYMENT_REQUIREMENTS,
            INVALID_SIGNATURE,
        ),
        (WrongPayment::Expired, VALID_BEFORE, VALID_BEFORE),
        (WrongPayment::NotYetValid, VALID_AFTER, VALID_AFTER),
    ];
    for (wrong, v2_reason, v1_reason) in cases {
        let r = check_v2(Some(&wrong), &rich()).unwrap_err();
        assert_eq!(r.reason, v2_reason, "v2 {wrong}: {}", r.message);
        let r = check_v1(Some(&wrong), &rich()).unwrap_err();
        assert_eq!(r.reason, v1_reason, "v1 {wrong}: {}", r.message);
    }
}

#[test]
fn a_settled_nonce_is_refused_when_reused() {
    let ledger = rich();
    let first = check_v2(None, &ledger).unwrap();
    ledger
        .settle(first.payer, first.to, first.nonce, first.value)
        .unwrap();
    let replay = check_v2(Some(&WrongPayment::ReusedNonce(first.nonce)), &ledger).unwrap_err();
    assert_eq!(replay.reason, INVALID_TRANSACTION_STATE);
}

#[test]
fn a_poor_payer_is_refused() {
    let ledger = rich();
    ledger.set_balance(Payer::test(0).address(), U256::from(9999));
    assert_eq!(
        check_v2(None, &ledger).unwrap_err().reason,
        INSUFFICIENT_FUNDS
    );
}

#[test]
fn an_unsupported_network_is_refused() {
    let payment = Payment::V2 {
        payload: Payer::test(0).pay_v2(&offer_v2(), None, None).unwrap(),
        requirements: offer_v2(),
    };
    let none = Networks { caip2: vec![] };
    assert_eq!(
        verify(&payment, &none, &rich(), unix_now())
            .unwrap_err()
            .reason,
        INVALID_NETWORK
    );
}

#[test]
fn the_six_second_buffer_applies_to_valid_before() {
    let payload = Payer::test(0).pay_v2(&offer_v2(), None, None).unwrap();
    let before: u64 = payload.payload["authorization"]["validBefore"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let payment = Payment::V2 {
        payload,
        requirements: offer_v2(),
    };
    let ledger = rich();
    // At validBefore - 6 it still passes; one second later it is refused.
    assert!(
        verify(
            &payment,
            &networks(),
            &ledger,
            before - VALID_BEFORE_BUFFER_SECS
        )
        .is_ok()
    );
    let late = verify(
        &payment,
        &networks(),
        &ledger,
        before - VALID_BEFORE_BUFFER_SECS + 1,
    );
    assert_eq!(late.unwrap_err().reason, VALID_BEFORE);
}

#[test]
fn requests_are_read_leniently_and_deviations_named() {
    let payload = Payer::test(0).pay_v2(&offer_v2(), None, None).unwrap();
    let good = FacilitatorRequest {
        x402_version: 2,
        payment_payload: serde_json::to_value(&payload).unwrap(),
        payment_requirements: serde_json::to_value(offer_v2()).unwrap(),
    };
    assert!(read_payment(Dialect::X402V2, &good).is_ok());
    let mut wrong_version = good.clone();
    wrong_version.x402_version = 1;
    assert_eq!(
        read_payment(Dialect::X402V2, &wrong_version)
            .unwrap_err()
            .reason,
        INVALID_X402_VERSION
    );
    let mut number_amount = good.clone();
    number_amount.payment_requirements["amount"] = json!(10000);
    assert_eq!(
        read_payment(Dialect::X402V2, &number_amount)
            .unwrap_err()
            .reason,
        INVALID_PAYMENT_REQUIREMENTS
    );
    let mut short_nonce = good;
    short_nonce.payment_payload["payload"]["authorization"]["nonce"] = json!("0x1234");
    let (payment, deviations) = read_payment(Dialect::X402V2, &short_nonce).unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.path.starts_with("/paymentPayload")),
        "{deviations:?}"
    );
    assert_eq!(
        verify(&payment, &networks(), &rich(), unix_now())
            .unwrap_err()
            .reason,
        INVALID_PAYLOAD
    );
}

#[test]
fn a_null_mime_type_is_journaled_not_refused() {
    let payload = Payer::test(0).pay_v1(&offer_v1(), None).unwrap();
    let mut requirements = serde_json::to_value(offer_v1()).unwrap();
    requirements["mimeType"] = serde_json::Value::Null;
    let body = json!({
        "x402Version": 1,
        "paymentPayload": serde_json::to_value(&payload).unwrap(),
        "paymentRequirements": requirements,
    });
    // The request's schema names the deviation; the request is still read and verified.
    let request = decode_value::<FacilitatorRequest>(Dialect::X402V1, Mode::Lenient, body).unwrap();
    let paths: Vec<&str> = request.deviations.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["/paymentRequirements/mimeType"]);
    let (payment, _) = read_payment(Dialect::X402V1, &request.value).unwrap();
    assert!(verify(&payment, &networks(), &rich(), unix_now()).is_ok());
}
