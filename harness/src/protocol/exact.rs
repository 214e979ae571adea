//! The `exact` scheme's EVM payload: an EIP-3009 `TransferWithAuthorization` and its signature.

use super::amount::parse_atomic;
use super::deviation::Deviation;
use serde::{Deserialize, Serialize};

/// `payload` of an exact/EVM/EIP-3009 payment (X2 §5.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactEvmPayload {
    /// `0x`-prefixed hex of the 65-byte signature (longer for smart wallets).
    pub signature: String,
    /// The signed authorization.
    pub authorization: Authorization,
}

/// The EIP-3009 authorization; every field is a string on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Payer address.
    pub from: String,
    /// Recipient address; must equal the offer's `payTo`.
    pub to: String,
    /// Amount in atomic units; must equal the offer's amount.
    pub value: String,
    /// Unix seconds after which the authorization is valid.
    pub valid_after: String,
    /// Unix seconds before which the authorization is valid.
    pub valid_before: String,
    /// `0x` + 64 hex: a random 32-byte nonce.
    pub nonce: String,
}

/// True for `0x` followed by exactly `bytes` bytes of hex.
pub fn is_hex_of_len(text: &str, bytes: usize) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|h| h.len() == bytes * 2 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// True for an EVM address: `0x` + 40 hex digits (checksum not required).
pub fn is_evm_address(text: &str) -> bool {
    is_hex_of_len(text, 20)
}

impl ExactEvmPayload {
    /// Names every field whose format differs from X2 §5.2.2; `path` points at the payload.
    pub fn check(&self, path: &str, out: &mut Vec<Deviation>) {
        let sig_ok = self.signature.strip_prefix("0x").is_some_and(|h| {
            h.len() >= 130 && h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !sig_ok {
            out.push(Deviation::new(
                "exact-evm.signature",
                format!("{path}/signature"),
                "expected 0x-prefixed hex of at least 65 bytes",
            ));
        }
        let a = &self.authorization;
        let auth = format!("{path}/authorization");
        for (name, value) in [("from", &a.from), ("to", &a.to)] {
            if !is_evm_address(value) {
                out.push(Deviation::new(
                    "exact-evm.address",
                    format!("{auth}/{name}"),
                    format!("'{value}' is not an EVM address (0x + 40 hex)"),
                ));
            }
        }
        for (name, value) in [
            ("value", &a.value),
            ("validAfter", &a.valid_after),
            ("validBefore", &a.valid_before),
        ] {
            if let Err(e) = parse_atomic(value) {
                out.push(Deviation::new(
                    "exact-evm.uint",
                    format!("{auth}/{name}"),
                    e.to_string(),
                ));
            }
        }
        if !is_hex_of_len(&a.nonce, 32) {
            out.push(Deviation::new(
                "exact-evm.nonce",
                format!("{auth}/nonce"),
                format!("'{}' is not 0x + 64 hex (32 bytes)", a.nonce),
            ));
        }
    }
}
