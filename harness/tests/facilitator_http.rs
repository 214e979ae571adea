//! The mock facilitator over HTTP: its answers decode strictly, malformed requests are
//! journaled as the server's fault, verify commits nothing, settle commits once.

use paycheck::mocks::MockFacilitator;
use paycheck::mocks::facilitator::journal::{Endpoint, Verdict};
use paycheck::payer::Payer;
use paycheck::protocol::facilitator::{SettlementResponse, SupportedResponse, VerifyResponse};
use paycheck::protocol::reasons::INVALID_TRANSACTION_STATE;
use paycheck::protocol::{Dialect, Mode, decode_json};
use serde_json::{Value, json};

fn offer() -> Value {
    json!({
        "scheme": "exact", "network": "eip155:84532", "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}
    })
}

fn request(dialect: Dialect) -> Value {
    let offer = offer();
    let paid = Payer::test(1)
        .pay_v2(&serde_json::from_value(offer.clone()).unwrap(), None, None)
        .unwrap();
    let payload = dialect.to_wire(serde_json::to_value(paid).unwrap());
    json!({ dialect.version_key(): 2, "paymentPayload": payload, "paymentRequirements": offer })
}

async fn post(f: &MockFacilitator, endpoint: &str, body: &Value) -> (u16, Vec<u8>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/{endpoint}", f.url()))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn supported_decodes_strictly_in_both_versions() {
    let f = MockFacilitator::start_default().await.unwrap();
    let body = reqwest::get(format!("{}/supported", f.url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let s = decode_json::<SupportedResponse>(Dialect::X402V2, Mode::Strict, &body)
        .unwrap()
        .value;
    assert!(
        s.kinds
            .iter()
            .any(|k| k.x402_version == 2 && k.network == "eip155:84532")
    );
    assert!(
        s.kinds
            .iter()
            .any(|k| k.x402_version == 1 && k.network == "base-sepolia")
    );
    assert_eq!(f.journal().count(Endpoint::Supported), 1);
    f.stop().await;
}

#[tokio::test]
async fn verify_commits_nothing_and_settle_commits_once() {
    for dialect in [Dialect::X402V2, Dialect::T402] {
        let f = MockFacilitator::start_default().await.unwrap();
        let req = request(dialect);
        for _ in 0..2 {
            let (status, body) = post(&f, "verify", &req).await;
            assert_eq!(status, 200);
            assert!(
                decode_json::<VerifyResponse>(dialect, Mode::Strict, &body)
                    .unwrap()
                    .value
                    .is_valid
            );
        }
        let (_, body) = post(&f, "settle", &req).await;
        let settled = decode_json::<SettlementResponse>(dialect, Mode::Strict, &body)
            .unwrap()
            .value;
        assert!(settled.success, "{dialect}");
        let (_, body) = post(&f, "settle", &req).await;
        let again = decode_json::<SettlementResponse>(dialect, Mode::Strict, &body)
            .unwrap()
            .value;
        assert!(!again.success);
        assert_eq!(
            again.error_reason.as_deref(),
            Some(INVALID_TRANSACTION_STATE)
        );
        assert_eq!(again.transaction, "");
        assert!(
            f.journal()
                .entries()
                .iter()
                .all(|e| e.dialect == Some(dialect))
        );
        f.stop().await;
    }
}

#[tokio::test]
async fn a_malformed_request_is_answered_400_and_journaled() {
    let f = MockFacilitator::start_default().await.unwrap();
    let mut req = request(Dialect::X402V2);
    req.as_object_mut().unwrap().remove("paymentRequirements");
    let (status, body) = post(&f, "verify", &req).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("invalid_request"));
    let entry = &f.journal().entries()[0];
    assert!(matches!(entry.verdict, Verdict::Malformed { .. }));
    assert!(
        !entry.deviations.is_empty(),
        "the schema names what is missing"
    );
    f.stop().await;
}

#[tokio::test]
async fn fault_rules_are_set_over_http() {
    let f = MockFacilitator::start_default().await.unwrap();
    let http = reqwest::Client::new();
    let bad = http
        .put(format!("{}/_paycheck/faults", f.url()))
        .body(r#"["settle=explode"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("unknown fault"));
    let ok = http
        .put(format!("{}/_paycheck/faults", f.url()))
        .body(r#"["verify=status:503x1"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let (status, _) = post(&f, "verify", &request(Dialect::X402V2)).await;
    assert_eq!(status, 503);
    let (status, _) = post(&f, "verify", &request(Dialect::X402V2)).await;
    assert_eq!(status, 200, "a limited rule expires");
    f.stop().await;
}
