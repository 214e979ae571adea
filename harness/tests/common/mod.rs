//! Shared set-up for the integration tests: a mock facilitator with a reference server in
//! front of it, and a client that pays.

#![allow(dead_code)]

pub mod hostile;
pub mod spawned;

use paycheck::mocks::MockFacilitator;
use paycheck::payer::{Payer, WrongPayment};
use paycheck::protocol::payment_id;
use paycheck::protocol::v1::{PaymentPayloadV1, PaymentRequiredV1};
use paycheck::protocol::v2::{PaymentPayload, PaymentRequired};
use paycheck::protocol::{Dialect, Mode, decode_header, decode_json, encode_header};
use paycheck::reference::{ReferenceConfig, ReferenceServer};
use reqwest::{Method, Response};

/// A reference server and its mock facilitator.
pub struct Stack {
    pub facilitator: MockFacilitator,
    pub server: ReferenceServer,
    pub http: reqwest::Client,
    pub payer: Payer,
}

impl Stack {
    pub async fn start(dialect: Dialect) -> Self {
        Self::start_with(dialect, |_| {}).await
    }

    pub async fn start_with(dialect: Dialect, tweak: impl FnOnce(&mut ReferenceConfig)) -> Self {
        let facilitator = MockFacilitator::start_default().await.unwrap();
        let mut config = ReferenceConfig::new(dialect, facilitator.url());
        tweak(&mut config);
        let server = ReferenceServer::start(config).await.unwrap();
        Self {
            facilitator,
            server,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            payer: Payer::test(0),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.server.dialect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        payment: Option<&str>,
        body: Option<&str>,
    ) -> Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Accept", "application/json");
        if let Some(p) = payment {
            req = req.header(self.dialect().payment_header(), p);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        req.send().await.unwrap()
    }

    /// The challenge of a paid route, decoded strictly.
    pub async fn challenge(&self, method: Method, path: &str) -> Challenge {
        let resp = self.send(method, path, None, Some("{}")).await;
        assert_eq!(resp.status(), 402, "unpaid {path} must be 402");
        Challenge::read(self.dialect(), resp).await
    }

    /// A payment header for `challenge`'s first offer, wrong as asked.
    pub fn pay(&self, challenge: &Challenge, wrong: Option<&WrongPayment>) -> (String, String) {
        let d = self.dialect();
        match challenge {
            Challenge::V2(req) => {
                let mut p = self
                    .payer
                    .pay_v2(&req.accepts[0], Some(req.resource.clone()), wrong)
                    .unwrap();
                payment_id::attach(&mut p, req.extensions.as_ref());
                let nonce = p.payload["authorization"]["nonce"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (encode_header(d, &p), nonce)
            }
            Challenge::V1(req) => {
                let p = self.payer.pay_v1(&req.accepts[0], wrong).unwrap();
                let nonce = p.payload["authorization"]["nonce"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (encode_header(d, &p), nonce)
            }
        }
    }

    /// The same v2 payment under a fresh payment-identifier id (a replay, where the same
    /// id would rightly get the first answer back).
    pub fn under_fresh_id(&self, header: &str) -> String {
        let d = self.dialect();
        let mut payload = decode_header::<PaymentPayload>(d, Mode::Strict, header)
            .unwrap()
            .value;
        let mut declared = serde_json::Map::new();
        declared.insert(payment_id::EXTENSION.into(), payment_id::declaration(false));
        assert!(payment_id::attach(&mut payload, Some(&declared)).is_some());
        encode_header(d, &payload)
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.facilitator.stop().await;
    }
}

/// A decoded 402 challenge.
pub enum Challenge {
    V2(PaymentRequired),
    V1(PaymentRequiredV1),
}

impl Challenge {
    pub async fn read(dialect: Dialect, resp: Response) -> Self {
        match dialect.required_header() {
            Some(name) => {
                let header = resp
                    .headers()
                    .get(name)
                    .expect("PAYMENT-REQUIRED present")
                    .to_str()
                    .unwrap()
                    .to_string();
                Challenge::V2(
                    decode_header::<PaymentRequired>(dialect, Mode::Strict, &header)
                        .unwrap()
                        .value,
                )
            }
            None => {
                let body = resp.bytes().await.unwrap();
                Challenge::V1(
                    decode_json::<PaymentRequiredV1>(dialect, Mode::Strict, &body)
                        .unwrap()
                        .value,
                )
            }
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Challenge::V2(r) => r.error.as_deref(),
            Challenge::V1(r) => r.error.as_deref(),
        }
    }
}

/// Decodes a strict payment payload (for asserting what was sent).
pub fn decode_payment(dialect: Dialect, header: &str) -> serde_json::Value {
    match dialect {
        Dialect::X402V1 => serde_json::to_value(
            decode_header::<PaymentPayloadV1>(dialect, Mode::Strict, header)
                .unwrap()
                .value,
        )
        .unwrap(),
        _ => serde_json::to_value(
            decode_header::<PaymentPayload>(dialect, Mode::Strict, header)
                .unwrap()
                .value,
        )
        .unwrap(),
    }
}
