//! Decoding and encoding of whole messages: base64 → JSON → schema → typed value → semantics.

use super::codec::{Base64Error, decode_base64, encode_base64, json_whitespace};
use super::deviation::{Deviation, Mode};
use super::dialect::Dialect;
use super::schema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A protocol message paycheck can decode and check.
pub trait Message: DeserializeOwned + Serialize {
    /// The message's schema name, such as `payment-required` (see `schemas/`).
    const NAME: &'static str;

    /// Adds the deviations that a JSON Schema cannot express (uint256 range, addresses on
    /// EVM networks, versions). The default finds none.
    fn check(&self, _dialect: Dialect, _out: &mut Vec<Deviation>) {}
}

/// A decoded message with its JSON and every deviation that was tolerated.
#[derive(Debug, Clone)]
pub struct Decoded<T> {
    /// The typed message.
    pub value: T,
    /// The message as JSON, exactly as received (after base64).
    pub json: Value,
    /// Deviations from the specification (always empty in strict mode).
    pub deviations: Vec<Deviation>,
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DecodeError {
    /// The header is not base64 in any flavour.
    #[error("{0}")]
    Base64(#[from] Base64Error),
    /// The bytes are not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// The JSON does not have the message's shape.
    #[error("not a {name}: {detail}")]
    Shape {
        /// The message name.
        name: &'static str,
        /// What serde said, with the schema's findings.
        detail: String,
        /// The schema's findings.
        deviations: Vec<Deviation>,
    },
    /// Strict mode: the message deviates from the specification.
    #[error("{} deviation(s): {}", .0.len(), join(.0))]
    Deviations(Vec<Deviation>),
}

impl DecodeError {
    /// The deviations behind this error (strict-mode deviations, or what the schema found
    /// in a message that does not have the right shape).
    pub fn deviations(&self) -> &[Deviation] {
        match self {
            DecodeError::Deviations(d) | DecodeError::Shape { deviations: d, .. } => d,
            _ => &[],
        }
    }
}

fn join(devs: &[Deviation]) -> String {
    devs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Decodes a base64 header value (`PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE`, `X-PAYMENT`, …).
pub fn decode_header<T: Message>(
    dialect: Dialect,
    mode: Mode,
    header: &str,
) -> Result<Decoded<T>, DecodeError> {
    let (bytes, deviations) = decode_base64(header)?;
    decode_with(dialect, mode, &bytes, deviations)
}

/// Decodes a JSON body (the v1 402 body, facilitator requests and answers).
pub fn decode_json<T: Message>(
    dialect: Dialect,
    mode: Mode,
    bytes: &[u8],
) -> Result<Decoded<T>, DecodeError> {
    decode_with(dialect, mode, bytes, Vec::new())
}

/// Decodes a message that is already JSON (such as `paymentPayload` inside a request).
pub fn decode_value<T: Message>(
    dialect: Dialect,
    mode: Mode,
    json: Value,
) -> Result<Decoded<T>, DecodeError> {
    decode_value_with(dialect, mode, json, Vec::new())
}

fn decode_with<T: Message>(
    dialect: Dialect,
    mode: Mode,
    bytes: &[u8],
    mut deviations: Vec<Deviation>,
) -> Result<Decoded<T>, DecodeError> {
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
    deviations.extend(json_whitespace(bytes));
    decode_value_with(dialect, mode, json, deviations)
}

fn decode_value_with<T: Message>(
    dialect: Dialect,
    mode: Mode,
    json: Value,
    mut deviations: Vec<Deviation>,
) -> Result<Decoded<T>, DecodeError> {
    deviations.extend(schema::validate(dialect, T::NAME, &json));
    let mut typed_json = json.clone();
    if !dialect.from_wire(&mut typed_json) && typed_json.get("x402Version").is_some() {
        deviations.push(Deviation::new(
            "version.key",
            "/x402Version",
            "t402 names the version field t402Version",
        ));
    }
    let value: T = match serde_json::from_value(typed_json) {
        Ok(v) => v,
        Err(e) => {
            let detail = if deviations.is_empty() {
                e.to_string()
            } else {
                format!("{e} ({})", join(&deviations))
            };
            return Err(DecodeError::Shape {
                name: T::NAME,
                detail,
                deviations,
            });
        }
    };
    value.check(dialect, &mut deviations);
    if mode == Mode::Strict && !deviations.is_empty() {
        return Err(DecodeError::Deviations(deviations));
    }
    Ok(Decoded {
        value,
        json,
        deviations,
    })
}

/// The message as wire JSON for `dialect` (t402 renames the version key).
pub fn to_wire_json<T: Message>(dialect: Dialect, message: &T) -> Value {
    let value = serde_json::to_value(message).expect("protocol types always serialise");
    dialect.to_wire(value)
}

/// Encodes a message as a header value: padded standard base64 of compact JSON.
pub fn encode_header<T: Message>(dialect: Dialect, message: &T) -> String {
    let json = to_wire_json(dialect, message);
    encode_base64(json.to_string().as_bytes())
}
