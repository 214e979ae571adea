//! Every example in the specifications decodes strictly, and the example payment verifies.

use paycheck::mocks::facilitator::ledger::Ledger;
use paycheck::mocks::facilitator::verify::{Networks, Payment, VALID_BEFORE_BUFFER_SECS, verify};
use paycheck::protocol::codec::decode_base64;
use paycheck::protocol::facilitator::{SettlementResponse, SupportedResponse, VerifyResponse};
use paycheck::protocol::reasons::VALID_BEFORE;
use paycheck::protocol::v1::{PaymentPayloadV1, PaymentRequiredV1};
use paycheck::protocol::v2::{PaymentPayload, PaymentRequired};
use paycheck::protocol::{Dialect, Message, Mode, decode_header, decode_json, encode_header};
use std::path::PathBuf;

fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/spec")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn strict<T: Message>(dialect: Dialect, path: &str) -> T {
    decode_json::<T>(dialect, Mode::Strict, &fixture(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .value
}

#[test]
fn every_v2_example_decodes_strictly() {
    let required: PaymentRequired = strict(Dialect::X402V2, "x402-v2/payment-required.json");
    assert_eq!(required.accepts[0].amount, "10000");
    let payload: PaymentPayload = strict(Dialect::X402V2, "x402-v2/payment-payload.json");
    assert_eq!(payload.accepted, required.accepts[0]);
    let valid: VerifyResponse = strict(Dialect::X402V2, "x402-v2/verify-response-valid.json");
    assert!(valid.is_valid);
    let invalid: VerifyResponse = strict(Dialect::X402V2, "x402-v2/verify-response-invalid.json");
    assert_eq!(
        invalid.invalid_reason.as_deref(),
        Some("insufficient_funds")
    );
    let supported: SupportedResponse = strict(Dialect::X402V2, "x402-v2/supported.json");
    assert_eq!(supported.kinds.len(), 2);
}

#[test]
fn the_payment_response_headers_decode_strictly() {
    for (file, success) in [
        ("x402-v2/payment-response-success.b64", true),
        ("x402-v2/payment-response-failure.b64", false),
    ] {
        let header = String::from_utf8(fixture(file)).unwrap();
        let s = decode_header::<SettlementResponse>(Dialect::X402V2, Mode::Strict, &header)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .value;
        assert_eq!(s.success, success);
        assert_eq!(s.network, "eip155:84532");
        // Re-encoding gives the spec's exact bytes: same key order, compact, padded.
        assert_eq!(encode_header(Dialect::X402V2, &s), header, "{file}");
    }
    let ext = String::from_utf8(fixture("x402-v2/extension-responses.b64")).unwrap();
    let (bytes, deviations) = decode_base64(&ext).unwrap();
    assert!(deviations.is_empty());
    assert_eq!(bytes, br#"{"bazaar":{"status":"success"}}"#);
}

#[test]
fn every_v1_example_decodes_strictly() {
    let required: PaymentRequiredV1 = strict(Dialect::X402V1, "x402-v1/payment-required.json");
    assert_eq!(required.accepts[0].max_amount_required, "10000");
    let payload: PaymentPayloadV1 = strict(Dialect::X402V1, "x402-v1/payment-payload.json");
    assert_eq!(payload.network, "base-sepolia");
    let supported: SupportedResponse = strict(Dialect::X402V1, "x402-v1/supported.json");
    assert_eq!(supported.kinds[0].network, "base-sepolia");
}

#[test]
fn the_v2_examples_read_as_t402_only_with_the_t402_version_key() {
    let text = String::from_utf8(fixture("x402-v2/payment-required.json")).unwrap();
    let err =
        decode_json::<PaymentRequired>(Dialect::T402, Mode::Strict, text.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("t402Version"), "{err}");
    let renamed = text.replace("x402Version", "t402Version");
    decode_json::<PaymentRequired>(Dialect::T402, Mode::Strict, renamed.as_bytes()).unwrap();
}

fn spec_payment(dialect: Dialect) -> Payment {
    let required: PaymentRequired = strict(Dialect::X402V2, "x402-v2/payment-required.json");
    match dialect {
        Dialect::X402V1 => {
            let r: PaymentRequiredV1 = strict(Dialect::X402V1, "x402-v1/payment-required.json");
            Payment::V1 {
                payload: strict(Dialect::X402V1, "x402-v1/payment-payload.json"),
                requirements: r.accepts[0].clone(),
            }
        }
        _ => Payment::V2 {
            payload: strict(Dialect::X402V2, "x402-v2/payment-payload.json"),
            requirements: required.accepts[0].clone(),
        },
    }
}

#[test]
fn the_spec_payment_verifies_inside_its_window_and_not_after() {
    let networks = Networks {
        caip2: vec!["eip155:84532".into()],
    };
    let ledger = Ledger::new(alloy::primitives::U256::from(1_000_000u64));
    for dialect in [Dialect::X402V2, Dialect::X402V1] {
        let payment = spec_payment(dialect);
        // validAfter 1740672089, validBefore 1740672154.
        let inside = 1_740_672_154 - VALID_BEFORE_BUFFER_SECS - 10;
        let ok = verify(&payment, &networks, &ledger, inside).unwrap();
        assert_eq!(
            ok.payer.to_checksum(None),
            "0x857b06519E91e3A54538791bDbb0E22373e36b66"
        );
        let late = verify(&payment, &networks, &ledger, 1_740_672_154).unwrap_err();
        assert_eq!(late.reason, VALID_BEFORE);
    }
}

#[test]
fn lenient_mode_reads_what_strict_mode_refuses_and_names_it() {
    let text = String::from_utf8(fixture("x402-v2/payment-required.json")).unwrap();
    let spaced = text.replace(",\"", ", \"");
    let url_safe = base64_url_unpadded(spaced.as_bytes());
    let err =
        decode_header::<PaymentRequired>(Dialect::X402V2, Mode::Strict, &url_safe).unwrap_err();
    let rules: Vec<&str> = err.deviations().iter().map(|d| d.rule).collect();
    assert!(rules.contains(&"json.not-compact"), "{rules:?}");
    let lenient =
        decode_header::<PaymentRequired>(Dialect::X402V2, Mode::Lenient, &url_safe).unwrap();
    assert_eq!(lenient.value.accepts[0].amount, "10000");
    assert!(!lenient.deviations.is_empty());
}

fn base64_url_unpadded(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
