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
    /// t402 version 1: x402 v1 on the wire (requirements in the JSON body, `X-PAYMENT`)
    /// with `t402Version: 1`. Not a suite of its own: the `t402` suite detects it from the
    /// server's first answer ([`Dialect::detect_t402`]), and its check ids stay `t402/…`.
    #[serde(rename = "t402-v1")]
    T402V1,
}

impl Dialect {
    /// Every dialect, in catalogue order.
    pub const ALL: [Dialect; 3] = [Dialect::X402V2, Dialect::X402V1, Dialect::T402];

    /// The name used in suite ids, file names and flags: `x402-v1`, `x402-v2`, `t402` (t402
    /// v1 is graded in the `t402` suite, so its id is `t402` too).
    pub fn id(self) -> &'static str {
        match self {
            Dialect::X402V1 => "x402-v1",
            Dialect::X402V2 => "x402-v2",
            Dialect::T402 | Dialect::T402V1 => "t402",
        }
    }

    /// The dialect's own name, telling t402 v1 from v2 (for messages and schema names).
    pub fn wire_name(self) -> &'static str {
        match self {
            Dialect::T402V1 => "t402-v1",
            other => other.id(),
        }
    }

    /// True for the v1 wire: requirements in the JSON body, `X-PAYMENT` and
    /// `X-PAYMENT-RESPONSE`, `maxAmountRequired`, v1 network names.
    pub fn is_v1(self) -> bool {
        matches!(self, Dialect::X402V1 | Dialect::T402V1)
    }

    /// True for t402, either version: the version key is `t402Version`.
    pub fn is_t402(self) -> bool {
        matches!(self, Dialect::T402 | Dialect::T402V1)
    }

    /// The JSON key that carries the protocol version.
    pub fn version_key(self) -> &'static str {
        if self.is_t402() {
            "t402Version"
        } else {
            "x402Version"
        }
    }

    /// The protocol version number this dialect writes.
    pub fn version(self) -> u64 {
        if self.is_v1() { 1 } else { 2 }
    }

    /// The request header that carries the payment.
    pub fn payment_header(self) -> &'static str {
        if self.is_v1() {
            "X-PAYMENT"
        } else {
            "PAYMENT-SIGNATURE"
        }
    }

    /// The response header that carries the settlement result.
    pub fn response_header(self) -> &'static str {
        if self.is_v1() {
            "X-PAYMENT-RESPONSE"
        } else {
            "PAYMENT-RESPONSE"
        }
    }

    /// The response header that carries the payment requirements, if the dialect has one
    /// (v1 puts them in the body instead).
    pub fn required_header(self) -> Option<&'static str> {
        if self.is_v1() {
            None
        } else {
            Some("PAYMENT-REQUIRED")
        }
    }

    /// The t402 version a server speaks, told from its 402: t402 v1 when the answer has no
    /// `PAYMENT-REQUIRED` header and its JSON body says `"t402Version": 1`; `self` otherwise.
    pub fn detect_t402(self, has_required_header: bool, body: &str) -> Dialect {
        if self != Dialect::T402 || has_required_header {
            return self;
        }
        let version = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("t402Version").and_then(Value::as_u64));
        if version == Some(1) {
            Dialect::T402V1
        } else {
            self
        }
    }

    /// Renames the version key of a wire message (and of each `kinds[]` entry) from the
    /// x402 name used by paycheck's types to this dialect's name. Nested messages kept as
    /// raw JSON (a facilitator request's `paymentPayload`) are already in wire form.
    pub fn to_wire(self, mut value: Value) -> Value {
        if self.is_t402() {
            rename_version_keys(&mut value, "x402Version", "t402Version");
        }
        value
    }

    /// Renames this dialect's version key to the x402 name used by paycheck's types.
    /// Returns false when a t402 message carries no `t402Version` key.
    pub fn from_wire(self, value: &mut Value) -> bool {
        if !self.is_t402() {
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
            "t402-v1" => Ok(Dialect::T402V1),
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
    fn t402_v1_is_told_from_the_body_of_a_402_without_the_header() {
        let v1 = r#"{"t402Version":1,"accepts":[]}"#;
        assert_eq!(Dialect::T402.detect_t402(false, v1), Dialect::T402V1);
        assert_eq!(Dialect::T402.detect_t402(true, v1), Dialect::T402);
        assert_eq!(Dialect::T402.detect_t402(false, "{}"), Dialect::T402);
        assert_eq!(Dialect::X402V2.detect_t402(false, v1), Dialect::X402V2);
        let d = Dialect::T402V1;
        assert_eq!(
            (d.id(), d.version(), d.payment_header()),
            ("t402", 1, "X-PAYMENT")
        );
        assert_eq!(d.version_key(), "t402Version");
    }

    #[test]
    fn dialect_names_round_trip() {
        for d in Dialect::ALL {
            assert_eq!(d.id().parse::<Dialect>().unwrap(), d);
        }
        assert!("x402".parse::<Dialect>().unwrap_err().contains("x402-v2"));
    }
}
