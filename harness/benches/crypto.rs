//! Signing, verification, header codecs and schema validation, one payment at a time.
//!
//! Run: `cargo bench --bench crypto` (pin to one core with `taskset -c 0` for per-core
//! figures). Results are recorded in BENCHMARKS.md.

use alloy::primitives::U256;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use paycheck::mocks::facilitator::ledger::Ledger;
use paycheck::mocks::facilitator::verify::{Networks, Payment, read_payment, verify};
use paycheck::payer::{ExactOffer, Payer, unix_now};
use paycheck::protocol::eip3009::recover_signer;
use paycheck::protocol::exact::ExactEvmPayload;
use paycheck::protocol::facilitator::FacilitatorRequest;
use paycheck::protocol::v2::{PaymentPayload, PaymentRequirements};
use paycheck::protocol::{Dialect, Mode, decode_header, encode_header, schema};
use serde_json::json;
use std::hint::black_box;

fn offer() -> PaymentRequirements {
    serde_json::from_value(json!({
        "scheme": "exact", "network": "eip155:84532", "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}
    }))
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let payer = Payer::test(0);
    let offer = offer();
    let exact = ExactOffer::from_v2(&offer).unwrap();
    let paid: PaymentPayload = payer.pay_v2(&offer, None, None).unwrap();
    let exact_payload: ExactEvmPayload = serde_json::from_value(paid.payload.clone()).unwrap();
    let header = encode_header(Dialect::X402V2, &paid);
    let payload_json = serde_json::to_value(&paid).unwrap();
    let request = FacilitatorRequest {
        x402_version: 2,
        payment_payload: payload_json.clone(),
        payment_requirements: serde_json::to_value(&offer).unwrap(),
    };
    let networks = Networks {
        caip2: vec!["eip155:84532".into()],
    };
    let ledger = Ledger::new(U256::from(u64::MAX));
    let payment = Payment::V2 {
        payload: paid.clone(),
        requirements: offer.clone(),
    };
    let now = unix_now();

    let mut g = c.benchmark_group("payment");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign (EIP-3009, secp256k1 signer)", |b| {
        b.iter(|| payer.sign_exact(black_box(&exact), None).unwrap())
    });
    g.bench_function("recover signer (EIP-712 hash + ecrecover)", |b| {
        b.iter(|| recover_signer(black_box(&exact_payload), &exact.domain()).unwrap())
    });
    g.bench_function("facilitator verify (typed payment, every rule)", |b| {
        b.iter(|| verify(black_box(&payment), &networks, &ledger, now).unwrap())
    });
    g.bench_function(
        "facilitator verify (request JSON: lenient decode + schema + rules)",
        |b| {
            b.iter(|| {
                let (p, _) = read_payment(Dialect::X402V2, black_box(&request)).unwrap();
                verify(&p, &networks, &ledger, now).unwrap()
            })
        },
    );
    g.bench_function("header encode (PAYMENT-SIGNATURE)", |b| {
        b.iter(|| encode_header(Dialect::X402V2, black_box(&paid)))
    });
    g.bench_function(
        "header decode strict (base64 + JSON + schema + formats)",
        |b| {
            b.iter(|| {
                decode_header::<PaymentPayload>(Dialect::X402V2, Mode::Strict, black_box(&header))
                    .unwrap()
            })
        },
    );
    g.bench_function("schema validation (payment-payload)", |b| {
        b.iter(|| schema::validate(Dialect::X402V2, "payment-payload", black_box(&payload_json)))
    });
    g.finish();
}

criterion_group!(crypto, benches);
criterion_main!(crypto);
