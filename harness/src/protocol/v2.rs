//! x402 version 2 messages (x402-specification-v2.md §5); t402 uses the same shapes.

use super::amount::parse_atomic;
use super::decode::Message;
use super::deviation::Deviation;
use super::dialect::Dialect;
use super::exact::{ExactEvmPayload, is_evm_address};
use super::network::is_caip2;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What is being paid for (X2 §5.1.2 `ResourceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// The resource URL.
    pub url: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// One way to pay: an entry of `accepts`, echoed verbatim as `accepted` (X2 §5.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// Payment scheme, such as `exact`.
    pub scheme: String,
    /// CAIP-2 network, such as `eip155:84532`.
    pub network: String,
    /// Amount in atomic units of `asset`.
    pub amount: String,
    /// Token contract address (EVM), mint (Solana), or currency code.
    pub asset: String,
    /// Recipient.
    pub pay_to: String,
    /// How long the server waits for the payment to complete.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data; for exact/EVM the token's EIP-712 `name` and `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
    /// Fields this version of paycheck does not know, kept so an echo stays verbatim.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The 402 answer's requirements, carried in `PAYMENT-REQUIRED` (X2 §5.1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Protocol version: 2.
    pub x402_version: u64,
    /// Why payment is required or why a payment was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The resource being paid for.
    pub resource: ResourceInfo,
    /// The ways to pay, at least one.
    pub accepts: Vec<PaymentRequirements>,
    /// Extension declarations, each with `info` and `schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

/// The client's payment, carried in `PAYMENT-SIGNATURE` (X2 §5.2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Protocol version: 2.
    pub x402_version: u64,
    /// The resource paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The chosen `accepts` entry, verbatim.
    pub accepted: PaymentRequirements,
    /// Scheme-specific payload; see [`ExactEvmPayload`].
    pub payload: Value,
    /// Echo of the server's extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

impl PaymentRequirements {
    /// True for the exact scheme on an EVM network.
    pub fn is_exact_evm(&self) -> bool {
        self.scheme == "exact" && self.network.starts_with("eip155:")
    }

    /// The EIP-712 domain `name` and `version` from `extra`, when both are present.
    pub fn eip712_name_version(&self) -> Option<(&str, &str)> {
        eip712_name_version(self.extra.as_ref())
    }

    /// Names every field whose format differs from X2 §5.1.2.
    pub fn check(&self, path: &str, out: &mut Vec<Deviation>) {
        check_amount(&self.amount, &format!("{path}/amount"), out);
        if !is_caip2(&self.network) {
            out.push(Deviation::new(
                "network.caip2",
                format!("{path}/network"),
                format!("'{}' is not a CAIP-2 network id", self.network),
            ));
        }
        if self.max_timeout_seconds == 0 {
            out.push(Deviation::new(
                "requirements.timeout",
                format!("{path}/maxTimeoutSeconds"),
                "must be positive",
            ));
        }
        if self.is_exact_evm() {
            check_evm_offer(&self.asset, &self.pay_to, self.extra.as_ref(), path, out);
        }
    }
}

/// The EIP-712 domain `name` and `version` in an offer's `extra`.
pub fn eip712_name_version(extra: Option<&Value>) -> Option<(&str, &str)> {
    let extra = extra?;
    Some((
        extra.get("name")?.as_str()?,
        extra.get("version")?.as_str()?,
    ))
}

pub(crate) fn check_amount(amount: &str, path: &str, out: &mut Vec<Deviation>) {
    if let Err(e) = parse_atomic(amount) {
        out.push(Deviation::new("amount.atomic", path, e.to_string()));
    }
}

pub(crate) fn check_evm_offer(
    asset: &str,
    pay_to: &str,
    extra: Option<&Value>,
    path: &str,
    out: &mut Vec<Deviation>,
) {
    for (name, value) in [("asset", asset), ("payTo", pay_to)] {
        if !is_evm_address(value) {
            out.push(Deviation::new(
                "exact-evm.address",
                format!("{path}/{name}"),
                format!("'{value}' is not an EVM address (0x + 40 hex)"),
            ));
        }
    }
    if eip712_name_version(extra).is_none() {
        out.push(Deviation::new(
            "exact-evm.eip712-domain",
            format!("{path}/extra"),
            "exact on EVM needs extra.name and extra.version (the token's EIP-712 domain)",
        ));
    }
}

pub(crate) fn check_version(found: u64, dialect: Dialect, out: &mut Vec<Deviation>) {
    if found != dialect.version() {
        out.push(Deviation::new(
            "version",
            format!("/{}", dialect.version_key()),
            format!("{found}, expected {}", dialect.version()),
        ));
    }
}

/// Checks an exact/EVM payload when the scheme and network say it is one.
pub(crate) fn check_exact_payload(is_exact_evm: bool, payload: &Value, out: &mut Vec<Deviation>) {
    if !is_exact_evm {
        return;
    }
    match serde_json::from_value::<ExactEvmPayload>(payload.clone()) {
        Ok(p) => p.check("/payload", out),
        Err(e) => out.push(Deviation::new(
            "exact-evm.payload",
            "/payload",
            format!("not an EIP-3009 payload: {e}"),
        )),
    }
}

impl Message for PaymentRequired {
    const NAME: &'static str = "payment-required";
    fn check(&self, dialect: Dialect, out: &mut Vec<Deviation>) {
        check_version(self.x402_version, dialect, out);
        check_accepts(&self.accepts, out, |req, path, out| req.check(path, out));
    }
}

/// Checks that `accepts` offers something, and each entry with `check`.
pub(crate) fn check_accepts<T>(
    accepts: &[T],
    out: &mut Vec<Deviation>,
    check: impl Fn(&T, &str, &mut Vec<Deviation>),
) {
    if accepts.is_empty() {
        out.push(Deviation::new(
            "accepts.empty",
            "/accepts",
            "no way to pay is offered",
        ));
    }
    for (i, req) in accepts.iter().enumerate() {
        check(req, &format!("/accepts/{i}"), out);
    }
}

impl Message for PaymentPayload {
    const NAME: &'static str = "payment-payload";
    fn check(&self, dialect: Dialect, out: &mut Vec<Deviation>) {
        check_version(self.x402_version, dialect, out);
        self.accepted.check("/accepted", out);
        check_exact_payload(self.accepted.is_exact_evm(), &self.payload, out);
    }
}

impl Message for PaymentRequirements {
    const NAME: &'static str = "payment-requirements";
    fn check(&self, _dialect: Dialect, out: &mut Vec<Deviation>) {
        PaymentRequirements::check(self, "", out);
    }
}
