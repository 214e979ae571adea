//! The JSON Schemas in `schemas/`, compiled once and used to validate every decoded message.

use super::deviation::Deviation;
use super::dialect::Dialect;
use jsonschema::Validator;
use serde_json::Value;
use std::sync::OnceLock;

/// Every protocol schema, by dialect and message name, embedded at build time.
const SOURCES: &[(Dialect, &str, &str)] = &[
    (
        Dialect::X402V2,
        "payment-required",
        include_str!("../../../schemas/x402-v2/payment-required.schema.json"),
    ),
    (
        Dialect::X402V2,
        "payment-requirements",
        include_str!("../../../schemas/x402-v2/payment-requirements.schema.json"),
    ),
    (
        Dialect::X402V2,
        "payment-payload",
        include_str!("../../../schemas/x402-v2/payment-payload.schema.json"),
    ),
    (
        Dialect::X402V2,
        "settlement-response",
        include_str!("../../../schemas/x402-v2/settlement-response.schema.json"),
    ),
    (
        Dialect::X402V2,
        "verify-response",
        include_str!("../../../schemas/x402-v2/verify-response.schema.json"),
    ),
    (
        Dialect::X402V2,
        "supported-response",
        include_str!("../../../schemas/x402-v2/supported-response.schema.json"),
    ),
    (
        Dialect::X402V2,
        "facilitator-request",
        include_str!("../../../schemas/x402-v2/facilitator-request.schema.json"),
    ),
    (
        Dialect::X402V1,
        "payment-required",
        include_str!("../../../schemas/x402-v1/payment-required.schema.json"),
    ),
    (
        Dialect::X402V1,
        "payment-payload",
        include_str!("../../../schemas/x402-v1/payment-payload.schema.json"),
    ),
    (
        Dialect::X402V1,
        "settlement-response",
        include_str!("../../../schemas/x402-v1/settlement-response.schema.json"),
    ),
    (
        Dialect::X402V1,
        "verify-response",
        include_str!("../../../schemas/x402-v2/verify-response.schema.json"),
    ),
    (
        Dialect::X402V1,
        "supported-response",
        include_str!("../../../schemas/x402-v1/supported-response.schema.json"),
    ),
    (
        Dialect::X402V1,
        "facilitator-request",
        include_str!("../../../schemas/x402-v1/facilitator-request.schema.json"),
    ),
    (
        Dialect::T402,
        "payment-required",
        include_str!("../../../schemas/t402/payment-required.schema.json"),
    ),
    (
        Dialect::T402,
        "payment-requirements",
        include_str!("../../../schemas/x402-v2/payment-requirements.schema.json"),
    ),
    (
        Dialect::T402,
        "payment-payload",
        include_str!("../../../schemas/t402/payment-payload.schema.json"),
    ),
    (
        Dialect::T402,
        "settlement-response",
        include_str!("../../../schemas/x402-v2/settlement-response.schema.json"),
    ),
    (
        Dialect::T402,
        "verify-response",
        include_str!("../../../schemas/x402-v2/verify-response.schema.json"),
    ),
    (
        Dialect::T402,
        "supported-response",
        include_str!("../../../schemas/t402/supported-response.schema.json"),
    ),
    (
        Dialect::T402,
        "facilitator-request",
        include_str!("../../../schemas/t402/facilitator-request.schema.json"),
    ),
    (
        Dialect::T402V1,
        "payment-required",
        include_str!("../../../schemas/t402-v1/payment-required.schema.json"),
    ),
    (
        Dialect::T402V1,
        "payment-payload",
        include_str!("../../../schemas/t402-v1/payment-payload.schema.json"),
    ),
    (
        Dialect::T402V1,
        "settlement-response",
        include_str!("../../../schemas/x402-v1/settlement-response.schema.json"),
    ),
    (
        Dialect::T402V1,
        "verify-response",
        include_str!("../../../schemas/x402-v2/verify-response.schema.json"),
    ),
    (
        Dialect::T402V1,
        "supported-response",
        include_str!("../../../schemas/t402-v1/supported-response.schema.json"),
    ),
    (
        Dialect::T402V1,
        "facilitator-request",
        include_str!("../../../schemas/t402-v1/facilitator-request.schema.json"),
    ),
];

/// Twenty-six entries: a linear scan is as fast as hashing here.
type Compiled = Vec<((Dialect, &'static str), Validator)>;

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(dialect, name, text)| {
                let schema: Value = serde_json::from_str(text).unwrap_or_else(|e| {
                    panic!("schemas/{}/{name}: not JSON: {e}", dialect.wire_name())
                });
                let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| {
                    panic!("schemas/{}/{name}: not a schema: {e}", dialect.wire_name())
                });
                ((*dialect, *name), validator)
            })
            .collect()
    })
}

/// The compiled validator for a message, if paycheck has a schema for it.
pub fn validator(dialect: Dialect, name: &str) -> Option<&'static Validator> {
    compiled()
        .iter()
        .find(|((d, n), _)| *d == dialect && *n == name)
        .map(|(_, v)| v)
}

/// Validates wire JSON against the message's schema; each error becomes a deviation.
pub fn validate(dialect: Dialect, name: &str, json: &Value) -> Vec<Deviation> {
    let Some(validator) = validator(dialect, name) else {
        return Vec::new();
    };
    validator
        .iter_errors(json)
        .map(|e| Deviation::new("schema", e.instance_path().to_string(), e.to_string()))
        .collect()
}

/// Compiles every schema now, so a broken schema fails at start-up rather than mid-run.
pub fn compile_all() -> usize {
    compiled().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        assert_eq!(compile_all(), SOURCES.len());
    }

    #[test]
    fn a_number_amount_is_a_schema_deviation() {
        let bad = serde_json::json!({
            "x402Version": 2,
            "resource": {"url": "http://x/premium"},
            "accepts": [{"scheme": "exact", "network": "eip155:84532", "amount": 10000,
                "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "maxTimeoutSeconds": 60}]
        });
        let devs = validate(Dialect::X402V2, "payment-required", &bad);
        assert!(
            devs.iter().any(|d| d.path == "/accepts/0/amount"),
            "{devs:?}"
        );
    }
}
