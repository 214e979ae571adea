//! The protocol dialects paycheck speaks, and what differs between them on the wire.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// One 402 protocol dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Dialect {
    /// x402 version 1: requirements in a JSON body, `X-PAYMENT` header.
    #[serde(rename = "x402-v1")]
    X402V1,
    /// x402 version 2: `PAYMENT-REQUIRED` / `PAYMENT-SIGNATURE` / `PAYMENT-RESPONSE` headers.
    #[serde(rename = "x402-v2")]
    X402V2,
    /// t402: x402 v2 on the wire with the version field named `t402Version`.
    #[serde(rename = "t402")]
    T402,
}

impl Dialect {
    /// Every dialect, in catalogue order.
    pub const ALL: [Dialect; 3] = [Dialect::X402V2, Dialect::X402V1, Dialect::T402];

    /// The name used in suite ids, file names and flags: `x402-v1`, `x402-v2`, `t402`.
    pub fn id(self) -> &'static str {
        match self {
            Dialect::X402V1 => "x402-v1",
            Dialect::X402V2 => "x402-v2",
            Dialect::T402 => "t402",
        }
    }

    /// The JSON key that carries the protocol version.
    pub fn version_key(self) -> &'static str {
        match self {
            Dialect::T402 => "t402Version",
            _ => "x402Version",
        }
    }

    /// The protocol version number this dialect writes.
    pub fn version(self) -> u64 {
        match self {
            Dialect::X402V1 => 1,
            _ => 2,
        }
    }

    /// The request header that carries the payment.
    pub fn payment_header(self) -> &'static str {
        match self {
            Dialect::X402V1 => "X-PAYMENT",
            _ => "PAYMENT-SIGNATURE",
        }
    }

    /// The response header that carries the settlement result.
    pub fn response_header(self) -> &'static str {
        match self {
            Dialect::X402V1 => "X-PAYMENT-RESPONSE",
            _ => "PAYMENT-RESPONSE",
        }
    }

    /// The response header that carries the payment requirements, if the dialect has one
    /// (v1 puts them in the body instead).
    pub fn required_header(self) -> Option<&'static str> {
        match self {
            Dialect::X402V1 => None,
            _ => Some("PAYMENT-REQUIRED"),
        }
    }

    /// Renames the version key of a wire message (and of each `kinds[]` entry) from the
    /// x402 name used by paycheck's types to this dialect's name. Nested messages kept as
    /// raw JSON (a facilitator request's `paymentPayload`) are already in wire form.
    pub fn to_wire(self, mut value: Value) -> Value {
        if self == Dialect::T402 {
            rename_version_keys(&mut value, "x402Version", "t402Version");
        }
        value
    }

    /// Renames this dialect's version key to the x402 name used by paycheck's types.
    /// Returns false when a t402 message carries no `t402Version` key.
    pub fn from_wire(self, value: &mut Value) -> bool {
        if self != Dialect::T402 {
            return true;
        }
        let had = value.get("t402Version").is_some();
        rename_version_keys(value, "t402Version", "x402Version");
        had
    }
}

fn rename_version_keys(value: &mut Value, from: &str, to: &str) {
    let Value::Object(map) = value else { return };
    if let Some(v) = map.remove(from) {
        map.insert(to.to_string(), v);
    }
    if let Some(Value::Array(kinds)) = map.get_mut("kinds") {
        for kind in kinds {
            rename_version_keys(kind, from, to);
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x402-v1" => Ok(Dialect::X402V1),
            "x402-v2" => Ok(Dialect::X402V2),
            "t402" => Ok(Dialect::T402),
            other => Err(format!(
                "unknown protocol '{other}': expected one of x402-v2, x402-v1, t402"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn t402_renames_version_keys_both_ways() {
        let v = json!({"x402Version": 2, "kinds": [{"x402Version": 2}], "paymentPayload": {"t402Version": 2}});
        let wire = Dialect::T402.to_wire(v.clone());
        assert_eq!(
            wire,
            json!({"t402Version": 2, "kinds": [{"t402Version": 2}], "paymentPayload": {"t402Version": 2}})
        );
        let mut back = wire;
        assert!(Dialect::T402.from_wire(&mut back));
        assert_eq!(back, v);
    }

    #[test]
    fn t402_without_its_key_is_reported() {
        let mut v = json!({"x402Version": 2});
        assert!(!Dialect::T402.from_wire(&mut v));
        assert!(Dialect::X402V2.from_wire(&mut v));
    }

    #[test]
    fn dialect_names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(d.id().parse::<Dialect>().unwrap(), d);
        }
        assert!("x402".parse::<Dialect>().unwrap_err().contains("x402-v2"));
    }
}
