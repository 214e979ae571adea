//! x402 version 1 messages (x402-specification-v1.md §5): requirements in the 402 JSON body.

use super::decode::Message;
use super::deviation::Deviation;
use super::dialect::Dialect;
use super::network::chain_id;
use super::v2::{
    check_accepts, check_amount, check_evm_offer, check_exact_payload, check_version,
    eip712_name_version,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One v1 way to pay (X1 §5.1.2): resource data sits in each entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirementsV1 {
    /// Payment scheme, such as `exact`.
    pub scheme: String,
    /// v1 network name, such as `base-sepolia`.
    pub network: String,
    /// Amount in atomic units.
    pub max_amount_required: String,
    /// Token contract address.
    pub asset: String,
    /// Recipient.
    pub pay_to: String,
    /// The resource URL.
    pub resource: String,
    /// Human-readable description.
    pub description: String,
    /// MIME type of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// JSON Schema of the response, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// How long the server waits for the payment to complete.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data; for exact/EVM the token's EIP-712 `name` and `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
    /// Fields this version of paycheck does not know, kept so an echo stays verbatim.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The v1 402 body, `PaymentRequirementsResponse` (X1 §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequiredV1 {
    /// Protocol version: 1.
    pub x402_version: u64,
    /// Why payment is required or why a payment was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The ways to pay.
    pub accepts: Vec<PaymentRequirementsV1>,
}

/// The v1 payment, carried in `X-PAYMENT` (X1 §5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayloadV1 {
    /// Protocol version: 1.
    pub x402_version: u64,
    /// The chosen scheme.
    pub scheme: String,
    /// The chosen v1 network name.
    pub network: String,
    /// Scheme-specific payload.
    pub payload: Value,
}

impl PaymentRequirementsV1 {
    /// True for the exact scheme on a known EVM network.
    pub fn is_exact_evm(&self) -> bool {
        self.scheme == "exact" && chain_id(&self.network).is_some()
    }

    /// The EIP-712 domain `name` and `version` from `extra`, when both are present.
    pub fn eip712_name_version(&self) -> Option<(&str, &str)> {
        eip712_name_version(self.extra.as_ref())
    }

    /// Names every field whose format differs from X1 §5.1.2.
    pub fn check(&self, path: &str, out: &mut Vec<Deviation>) {
        check_amount(
            &self.max_amount_required,
            &format!("{path}/maxAmountRequired"),
            out,
        );
        if self.network.contains(':') {
            out.push(Deviation::new(
                "network.v1-name",
                format!("{path}/network"),
                format!(
                    "'{}' is a CAIP-2 id; v1 uses names such as base-sepolia",
                    self.network
                ),
            ));
        }
        if self.is_exact_evm() {
            check_evm_offer(&self.asset, &self.pay_to, self.extra.as_ref(), path, out);
        }
    }
}

impl Message for PaymentRequiredV1 {
    const NAME: &'static str = "payment-required";
    fn check(&self, dialect: Dialect, out: &mut Vec<Deviation>) {
        check_version(self.x402_version, dialect, out);
        check_accepts(&self.accepts, out, |req, path, out| req.check(path, out));
    }
}

impl Message for PaymentPayloadV1 {
    const NAME: &'static str = "payment-payload";
    fn check(&self, dialect: Dialect, out: &mut Vec<Deviation>) {
        check_version(self.x402_version, dialect, out);
        let exact_evm = self.scheme == "exact" && chain_id(&self.network).is_some();
        check_exact_payload(exact_evm, &self.payload, out);
    }
}

impl Message for PaymentRequirementsV1 {
    const NAME: &'static str = "payment-requirements";
    fn check(&self, _dialect: Dialect, out: &mut Vec<Deviation>) {
        PaymentRequirementsV1::check(self, "", out);
    }
}
