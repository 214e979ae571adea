use super::*;
use crate::protocol::eip3009::recover_signer;
use crate::protocol::v2::PaymentRequirements;
use serde_json::json;

fn offer(network: &str) -> PaymentRequirements {
    serde_json::from_value(json!({
        "scheme": "exact", "network": network, "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"},
        "futureField": {"kept": true}
    }))
    .unwrap()
}

fn exact(p: &PaymentPayload) -> ExactEvmPayload {
    serde_json::from_value(p.payload.clone()).unwrap()
}

#[test]
fn a_valid_payment_recovers_to_the_payer_and_echoes_the_offer() {
    let payer = Payer::test(0);
    let offer = offer("eip155:84532");
    let paid = payer.pay_v2(&offer, None, None).unwrap();
    assert_eq!(paid.accepted, offer, "accepted must be the offer verbatim");
    let body = exact(&paid);
    let domain = ExactOffer::from_v2(&offer).unwrap().domain();
    assert_eq!(recover_signer(&body, &domain).unwrap(), payer.address());
    assert_eq!(body.authorization.value, "10000");
    let after: u64 = body.authorization.valid_after.parse().unwrap();
    let before: u64 = body.authorization.valid_before.parse().unwrap();
    assert_eq!(before - after, VALID_AFTER_SLACK_SECS + 60);
}

#[test]
fn every_payment_has_a_fresh_nonce() {
    let payer = Payer::test(0);
    let a = exact(&payer.pay_v2(&offer("eip155:84532"), None, None).unwrap());
    let b = exact(&payer.pay_v2(&offer("eip155:84532"), None, None).unwrap());
    assert_ne!(a.authorization.nonce, b.authorization.nonce);
}

#[test]
fn each_wrong_payment_changes_what_it_names() {
    let payer = Payer::test(1);
    let offer = offer("eip155:84532");
    let domain = ExactOffer::from_v2(&offer).unwrap().domain();
    let pay = |w: WrongPayment| payer.pay_v2(&offer, None, Some(&w)).unwrap();

    let signer_of = |p: &PaymentPayload| recover_signer(&exact(p), &domain).ok();
    assert_ne!(
        signer_of(&pay(WrongPayment::WrongSigner)),
        Some(payer.address())
    );
    assert_ne!(
        signer_of(&pay(WrongPayment::BadSignature)),
        Some(payer.address())
    );
    assert_eq!(
        exact(&pay(WrongPayment::Underpaid)).authorization.value,
        "9999"
    );
    assert_eq!(
        exact(&pay(WrongPayment::Overpaid)).authorization.value,
        "10001"
    );
    assert_eq!(
        exact(&pay(WrongPayment::WrongPayTo)).authorization.to,
        wrong::OTHER_PAY_TO.to_checksum(None)
    );
    assert_eq!(
        pay(WrongPayment::WrongNetwork).accepted.network,
        "eip155:43113"
    );
    assert_eq!(
        pay(WrongPayment::WrongAsset).accepted.asset,
        wrong::OTHER_ASSET.to_checksum(None)
    );
    let now = unix_now();
    let before: u64 = exact(&pay(WrongPayment::Expired))
        .authorization
        .valid_before
        .parse()
        .unwrap();
    assert!(before < now);
    let after: u64 = exact(&pay(WrongPayment::NotYetValid))
        .authorization
        .valid_after
        .parse()
        .unwrap();
    assert!(after > now);
    let nonce = B256::repeat_byte(7);
    assert_eq!(
        exact(&pay(WrongPayment::ReusedNonce(nonce)))
            .authorization
            .nonce,
        nonce.to_string()
    );
    // The payments that change only the authorization still echo the offer verbatim.
    for w in [
        WrongPayment::Underpaid,
        WrongPayment::Expired,
        WrongPayment::BadSignature,
    ] {
        assert_eq!(pay(w).accepted, offer);
    }
}

#[test]
fn wrong_payment_names_round_trip() {
    for w in WrongPayment::SIMPLE {
        assert_eq!(w.name().parse::<WrongPayment>().unwrap(), w);
    }
    assert!(
        "cheap"
            .parse::<WrongPayment>()
            .unwrap_err()
            .contains("underpaid")
    );
}

#[test]
fn v1_payments_carry_scheme_and_network() {
    let payer = Payer::test(0);
    let offer: PaymentRequirementsV1 = serde_json::from_value(json!({
        "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "resource": "http://127.0.0.1/premium", "description": "d",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}
    }))
    .unwrap();
    let paid = payer.pay_v1(&offer, None).unwrap();
    assert_eq!(
        (paid.scheme.as_str(), paid.network.as_str()),
        ("exact", "base-sepolia")
    );
    let body: ExactEvmPayload = serde_json::from_value(paid.payload).unwrap();
    let domain = ExactOffer::from_v1(&offer).unwrap().domain();
    assert_eq!(domain.chain_id, 84532);
    assert_eq!(recover_signer(&body, &domain).unwrap(), payer.address());
    let wrong = payer
        .pay_v1(&offer, Some(&WrongPayment::WrongNetwork))
        .unwrap();
    assert_eq!(wrong.network, "avalanche-fuji");
}

#[test]
fn refuses_to_sign_for_a_mainnet_network() {
    let payer = Payer::test(0);
    for network in ["eip155:8453", "eip155:1", "eip155:987654321"] {
        let err = payer.pay_v2(&offer(network), None, None).unwrap_err();
        assert_eq!(err, PayError::MainnetRefused(network.to_string()));
        assert!(err.to_string().contains("--allow-mainnet"));
    }
    // --allow-mainnet does not lift the rule for the public test keys.
    let test_key = Payer::from_source(KeySource::TestKey(0), true).unwrap();
    assert!(test_key.pay_v2(&offer("eip155:8453"), None, None).is_err());
}

#[test]
fn a_key_from_the_environment_may_sign_for_mainnet_only_when_allowed() {
    let var = "PAYCHECK_TEST_KEY_FOR_MAINNET_POLICY";
    // SAFETY: this test is the only user of this variable name.
    unsafe { std::env::set_var(var, keys::test_keys()[2].clone()) };
    let src = KeySource::Env(var.into());
    let refused = Payer::from_source(src.clone(), false).unwrap();
    assert!(refused.pay_v2(&offer("eip155:8453"), None, None).is_err());
    let allowed = Payer::from_source(src, true).unwrap();
    assert!(allowed.pay_v2(&offer("eip155:8453"), None, None).is_ok());
}

#[test]
fn a_key_never_appears_in_debug_output_or_errors() {
    let keys = keys::test_keys();
    let payer = Payer::test(0);
    let shown = format!("{payer:?}");
    assert!(shown.contains("redacted"));
    let bare = keys[0].trim_start_matches("0x");
    assert!(!shown.to_lowercase().contains(bare));

    let var = "PAYCHECK_TEST_KEY_NOT_A_KEY";
    let secret = format!("{}zz", &keys[3]);
    // SAFETY: this test is the only user of this variable name.
    unsafe { std::env::set_var(var, &secret) };
    let err = Payer::from_source(KeySource::Env(var.into()), false).unwrap_err();
    assert!(!err.to_string().contains(&secret[2..20]));
    assert!(err.to_string().contains(var));
}

#[test]
fn mainnet_and_foreign_invoices_are_not_paid() {
    use crate::protocol::l402::L402Challenge;
    use crate::protocol::l402::invoice::{InvoiceRequest, LnNetwork, sign_invoice};
    let key = bitcoin::secp256k1::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let invoice = |network| {
        sign_invoice(
            &key,
            &InvoiceRequest {
                network,
                amount_msat: 1000,
                payment_hash: [1; 32],
                payment_secret: [2; 32],
                description: "x".into(),
                timestamp: std::time::Duration::from_secs(unix_now()),
                expiry: std::time::Duration::from_secs(60),
            },
        )
    };
    let challenge = |invoice: String| L402Challenge {
        scheme: "L402".into(),
        version: None,
        token: "AgE=".into(),
        token_param: "macaroon",
        invoice,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ln = rt
        .block_on(crate::mocks::MockLightning::start_default())
        .unwrap();
    let payer = Payer::test(0);
    let mainnet = payer.pay_l402(&ln, &challenge(invoice(LnNetwork::Bitcoin)));
    assert!(
        matches!(mainnet, Err(PayError::MainnetRefused(_))),
        "{mainnet:?}"
    );
    // A regtest invoice the mock did not issue: the mock refuses to pay it.
    let foreign = payer.pay_l402(&ln, &challenge(invoice(LnNetwork::Regtest)));
    assert!(
        foreign
            .unwrap_err()
            .to_string()
            .contains("only invoices it issued"),
        "the mock pays nothing it did not issue"
    );
    rt.block_on(ln.stop());
}
