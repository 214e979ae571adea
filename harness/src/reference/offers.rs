//! What the reference servers charge, and the offers they write for it.

use super::faults::ReferenceFault;
use super::{PaymentIdMode, ReferenceConfig};
use crate::protocol::network::v1_name;
use crate::protocol::payment_id;
use crate::protocol::v1::{PaymentRequiredV1, PaymentRequirementsV1};
use crate::protocol::v2::{PaymentRequired, PaymentRequirements, ResourceInfo};
use crate::protocol::{Dialect, Message, to_wire_json};
use axum::http::Method;
use serde_json::{Map, Value, json};

/// A paid route of the reference server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidRoute {
    /// The method it is paid for.
    pub method: Method,
    /// The path.
    pub path: &'static str,
    /// The price in atomic units.
    pub price: u64,
    /// What is sold.
    pub description: &'static str,
}

/// The reference server's paid routes.
pub fn paid_routes(config: &ReferenceConfig) -> [PaidRoute; 2] {
    [
        PaidRoute {
            method: Method::GET,
            path: "/premium",
            price: config.premium_price,
            description: "Premium market data",
        },
        PaidRoute {
            method: Method::POST,
            path: "/compute",
            price: config.compute_price,
            description: "A computation on the posted JSON",
        },
    ]
}

/// What is sold (padded to 10 KiB under `huge-requirements`, with '?????' under
/// `url-safe-base64`).
fn description(config: &ReferenceConfig, route: &PaidRoute) -> String {
    match config.fault {
        Some(ReferenceFault::HugeRequirements) => {
            format!("{} {}", route.description, "x".repeat(10 * 1024))
        }
        // Five '?' hold a whole 3-byte group at any offset, which encodes to `Pz8/`: the
        // URL-safe alphabet then differs from the standard one whatever the port in the
        // URL (without it, some documents encode the same in both alphabets).
        Some(ReferenceFault::UrlSafeBase64) => format!("{} ?????", route.description),
        _ => route.description.to_string(),
    }
}

/// The price as an atomic-unit string (a decimal under the `decimal-amount` fault).
fn amount(config: &ReferenceConfig, route: &PaidRoute) -> String {
    if config.fault == Some(ReferenceFault::DecimalAmount) {
        format!("{}.00", route.price)
    } else {
        route.price.to_string()
    }
}

fn extra(config: &ReferenceConfig) -> Value {
    let mut extra = json!({"name": config.token_name, "version": config.token_version});
    if config.upfront {
        extra["paymentFlow"] = json!("upfront");
    }
    extra
}

/// The v2 (and t402) offer for a route.
pub fn offer_v2(config: &ReferenceConfig, route: &PaidRoute) -> PaymentRequirements {
    PaymentRequirements {
        scheme: "exact".into(),
        network: format!("eip155:{}", config.chain_id),
        amount: amount(config, route),
        asset: config.asset.to_checksum(None),
        pay_to: config.pay_to.to_checksum(None),
        max_timeout_seconds: config.max_timeout_seconds,
        extra: Some(extra(config)),
        unknown: Map::new(),
    }
}

/// The v1 offer for a route.
pub fn offer_v1(config: &ReferenceConfig, route: &PaidRoute, url: &str) -> PaymentRequirementsV1 {
    PaymentRequirementsV1 {
        scheme: "exact".into(),
        network: v1_name(config.chain_id).unwrap_or("base-sepolia").into(),
        max_amount_required: amount(config, route),
        asset: config.asset.to_checksum(None),
        pay_to: config.pay_to.to_checksum(None),
        resource: url.to_string(),
        description: description(config, route),
        mime_type: Some("application/json".into()),
        output_schema: None,
        max_timeout_seconds: config.max_timeout_seconds,
        extra: Some(extra(config)),
        unknown: Map::new(),
    }
}

/// The offer as wire JSON, exactly as a payment's `accepted` (v2) must echo it, or as the
/// facilitator receives it in `paymentRequirements`.
pub fn offer_json(config: &ReferenceConfig, route: &PaidRoute, url: &str) -> Value {
    if config.dialect.is_v1() {
        let mut offer = serde_json::to_value(offer_v1(config, route, url)).expect("serialises");
        if config.fault == Some(ReferenceFault::NullMimeType) {
            offer["mimeType"] = Value::Null;
        }
        offer
    } else {
        serde_json::to_value(offer_v2(config, route)).expect("serialises")
    }
}

/// The whole 402 document for a route, as wire JSON of the dialect, with `error`.
pub fn payment_required(
    config: &ReferenceConfig,
    route: &PaidRoute,
    url: &str,
    error: Option<&str>,
) -> Value {
    let error = error.filter(|e| !e.is_empty()).map(str::to_string);
    fn wire<T: Message>(d: Dialect, m: &T) -> Value {
        to_wire_json(d, m)
    }
    let mut document = match config.dialect {
        d if d.is_v1() => wire(
            d,
            &PaymentRequiredV1 {
                x402_version: 1,
                error,
                accepts: vec![offer_v1(config, route, url)],
            },
        ),
        d => wire(
            d,
            &PaymentRequired {
                x402_version: 2,
                error,
                resource: ResourceInfo {
                    url: url.into(),
                    description: Some(description(config, route)),
                    mime_type: Some("application/json".into()),
                },
                accepts: vec![offer_v2(config, route)],
                extensions: extensions(config),
            },
        ),
    };
    if config.fault == Some(ReferenceFault::NullMimeType) {
        match document.get_mut("accepts").and_then(Value::as_array_mut) {
            Some(accepts) if config.dialect.is_v1() => {
                accepts.iter_mut().for_each(|a| a["mimeType"] = Value::Null);
            }
            _ => document["resource"]["mimeType"] = Value::Null,
        }
    }
    document
}

/// The 402's `extensions`: the `payment-identifier` declaration when the server offers it.
fn extensions(config: &ReferenceConfig) -> Option<Map<String, Value>> {
    let required = match config.payment_id {
        _ if config.fault == Some(ReferenceFault::IdRequiredIgnored) => true,
        PaymentIdMode::Off => return None,
        PaymentIdMode::Optional => false,
        PaymentIdMode::Required => true,
    };
    let mut extensions = Map::new();
    extensions.insert(
        payment_id::EXTENSION.into(),
        payment_id::declaration(required),
    );
    Some(extensions)
}
