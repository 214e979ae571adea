//! Facilitator messages: `/verify`, `/settle` and `/supported` (X2 §7, X1 §7).

use super::decode::Message;
use super::deviation::Deviation;
use super::dialect::Dialect;
use super::network::is_caip2;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Body of `POST /verify` and `POST /settle` (X2 §7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FacilitatorRequest {
    /// The payload's protocol version.
    pub x402_version: u64,
    /// The client's payment, as the server received it.
    pub payment_payload: Value,
    /// The requirement the server matched it against.
    pub payment_requirements: Value,
}

/// Answer to `POST /verify` (X2 §5.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the payment is valid.
    pub is_valid: bool,
    /// Why not, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    /// Human-readable detail (not in the specification; reference SDKs add it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_message: Option<String>,
    /// The payer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
}

/// Answer to `POST /settle`, also carried in `PAYMENT-RESPONSE` (X2 §5.3.2). Fields are in
/// the specification's order, so an encoded header matches its examples byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResponse {
    /// Whether the payment settled.
    pub success: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// Human-readable detail (not in the specification; reference SDKs add it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Transaction hash; empty on failure.
    pub transaction: String,
    /// Network of the transaction.
    pub network: String,
    /// The payer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// Settled amount (required for `upto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Extension data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

/// One payment kind a facilitator supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedKind {
    /// Protocol version of this kind.
    pub x402_version: u64,
    /// Scheme, such as `exact`.
    pub scheme: String,
    /// Network (CAIP-2 in v2, a name in v1).
    pub network: String,
    /// Scheme-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

/// Answer to `GET /supported` (X2 §7.3.1); v1 has only `kinds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportedResponse {
    /// Supported kinds.
    pub kinds: Vec<SupportedKind>,
    /// Supported extension ids (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<String>>,
    /// Signer addresses by CAIP-2 family pattern such as `eip155:*` (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<BTreeMap<String, Vec<String>>>,
}

impl Message for FacilitatorRequest {
    const NAME: &'static str = "facilitator-request";
}

impl Message for VerifyResponse {
    const NAME: &'static str = "verify-response";
    fn check(&self, _dialect: Dialect, out: &mut Vec<Deviation>) {
        if self.is_valid && self.invalid_reason.is_some() {
            out.push(Deviation::new(
                "verify.reason-on-valid",
                "/invalidReason",
                "invalidReason must be omitted when isValid is true",
            ));
        }
    }
}

impl Message for SettlementResponse {
    const NAME: &'static str = "settlement-response";
    fn check(&self, dialect: Dialect, out: &mut Vec<Deviation>) {
        if self.success && self.transaction.is_empty() {
            out.push(Deviation::new(
                "settle.transaction",
                "/transaction",
                "a successful settlement names its transaction",
            ));
        }
        if !dialect.is_v1() && !is_caip2(&self.network) {
            out.push(Deviation::new(
                "network.caip2",
                "/network",
                format!("'{}' is not a CAIP-2 network id", self.network),
            ));
        }
    }
}

impl Message for SupportedResponse {
    const NAME: &'static str = "supported-response";
}
