//! The mock Lightning backend over HTTP: LNbits' payments API, invoices that decode and are
//! signed, preimages released only on payment, faults and the journal.

use paycheck::mocks::MockLightning;
use paycheck::mocks::lightning::TEST_API_KEY;
use paycheck::mocks::lightning::journal::LnEndpoint;
use paycheck::protocol::Mode;
use paycheck::protocol::l402::{LnNetwork, decode_invoice, sha256};
use serde_json::{Value, json};

async fn post(ln: &MockLightning, body: Value, key: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/payments", ln.url()))
        .json(&body);
    if key {
        req = req.header("X-Api-Key", TEST_API_KEY);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn get(ln: &MockLightning, hash: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{}/api/v1/payments/{hash}", ln.url()))
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn an_invoice_is_created_paid_and_looked_up_as_lnbits_does() {
    let ln = MockLightning::start_default().await.unwrap();
    let (status, created) = post(
        &ln,
        json!({"out": false, "amount": 100, "memo": "premium", "expiry": 600}),
        true,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let hash = created["payment_hash"].as_str().unwrap().to_string();
    let bolt11 = created["payment_request"].as_str().unwrap().to_string();
    let invoice = decode_invoice(&bolt11, Mode::Strict).unwrap();
    assert_eq!(invoice.network, LnNetwork::Regtest);
    assert_eq!(invoice.amount_msat, Some(100_000));
    assert_eq!(alloy::primitives::hex::encode(invoice.payment_hash), hash);
    assert_eq!(invoice.expiry_secs, 600);
    assert_eq!(invoice.description.as_deref(), Some("premium"));
    assert!(
        created.get("preimage").is_none(),
        "no preimage before payment"
    );

    let (status, unpaid) = get(&ln, &hash).await;
    assert_eq!((status, &unpaid["paid"]), (200, &json!(false)));
    assert!(unpaid.get("preimage").is_none());

    let (status, paid) = post(&ln, json!({"out": true, "bolt11": bolt11}), true).await;
    assert_eq!(
        (status, &paid["status"]),
        (201, &json!("success")),
        "{paid}"
    );
    let preimage = alloy::primitives::hex::decode(paid["preimage"].as_str().unwrap()).unwrap();
    assert_eq!(alloy::primitives::hex::encode(sha256(&preimage)), hash);

    let (_, looked) = get(&ln, &hash).await;
    assert_eq!(looked["paid"], json!(true));
    assert_eq!(looked["preimage"], paid["preimage"]);
    let (status, again) = post(&ln, json!({"out": true, "bolt11": bolt11}), true).await;
    assert_eq!(status, 520, "{again}");

    assert_eq!(ln.journal().count(LnEndpoint::Create), 1);
    assert_eq!(ln.journal().count(LnEndpoint::Pay), 2);
    assert!(
        ln.journal()
            .entries()
            .iter()
            .all(|e| e.api_key || e.endpoint == LnEndpoint::Lookup)
    );
    ln.stop().await;
}

#[tokio::test]
async fn requests_lnbits_refuses_are_refused_the_same_way() {
    let ln = MockLightning::start_default().await.unwrap();
    let (status, body) = post(&ln, json!({"out": false, "amount": 5}), false).await;
    assert_eq!(
        (status, &body["detail"]),
        (401, &json!("No Api Key provided."))
    );
    // No "out": LNbits takes it as a payment, which needs a bolt11.
    let (status, body) = post(&ln, json!({"amount": 5}), true).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Missing BOLT11 invoice"))
    );
    let (status, _) = post(&ln, json!({"out": false, "amount": 0}), true).await;
    assert_eq!(status, 400);
    let (status, _) = post(&ln, json!({"out": false, "amount": 5, "unit": "USD"}), true).await;
    assert_eq!(status, 400);
    let (status, body) = get(&ln, &"ab".repeat(32)).await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Payment does not exist."))
    );
    ln.stop().await;
}

#[tokio::test]
async fn scheduled_faults_answer_instead_and_are_journaled() {
    let ln = MockLightning::start_default().await.unwrap();
    ln.faults().set(vec![
        "create=status:503x1".parse().unwrap(),
        "pay=settle-failure".parse().unwrap(),
    ]);
    let (status, _) = post(&ln, json!({"out": false, "amount": 7}), true).await;
    assert_eq!(status, 503);
    let (status, created) = post(&ln, json!({"out": false, "amount": 7}), true).await;
    assert_eq!(status, 201);
    let (status, failed) = post(
        &ln,
        json!({"out": true, "bolt11": created["payment_request"]}),
        true,
    )
    .await;
    assert_eq!((status, &failed["status"]), (520, &json!("failed")));
    // The harness's own wallet is not subject to the schedule.
    let bolt11 = created["payment_request"].as_str().unwrap();
    assert!(ln.pay(bolt11).is_ok());
    let faults: Vec<String> = ln
        .journal()
        .entries()
        .iter()
        .filter_map(|e| match &e.verdict {
            paycheck::mocks::lightning::journal::LnVerdict::Fault { fault } => Some(fault.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(faults, vec!["status:503", "settle-failure"]);
    let resp = reqwest::Client::new()
        .put(format!("{}/_paycheck/faults", ln.url()))
        .body(r#"["lookup=explode"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    ln.stop().await;
}
