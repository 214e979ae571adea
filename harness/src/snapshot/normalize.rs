//! Normalisation: what makes two captures of an unchanged server byte-identical.
//! Keys sorted, header names lower-cased, volatile values redacted.

use serde_json::{Map, Value};

/// Keys whose values change on every payment and are redacted by default.
pub const VOLATILE_KEYS: &[&str] = &[
    "nonce",
    "signature",
    "validAfter",
    "validBefore",
    "transaction",
];

/// Response headers kept in a snapshot (others, such as `date`, change between runs).
pub const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "vary",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "www-authenticate",
];

/// Sorts object keys at every depth.
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Redacts volatile keys and the target's origin (`http://127.0.0.1:PORT`) in strings.
pub fn redact(value: &mut Value, origin: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if VOLATILE_KEYS.contains(&k.as_str()) && !v.is_null() {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact(v, origin);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, origin)),
        Value::String(s) if s.contains(origin) => *s = s.replace(origin, "http://[target]"),
        _ => {}
    }
}

/// Redacts the token and invoice of L402 challenges in a `WWW-Authenticate` value
/// (`macaroon="…"`, `token="…"`, `invoice="…"`): they change with every challenge. Their
/// decoded, stable parts are kept beside the headers.
pub fn redact_challenge_params(value: &str) -> String {
    let mut out = value.to_string();
    for param in ["macaroon", "token", "invoice"] {
        let key = format!("{param}=\"");
        let mut from = 0;
        while let Some(i) = out[from..].to_ascii_lowercase().find(&key) {
            let start = from + i + key.len();
            let Some(len) = out[start..].find('"') else {
                break;
            };
            out.replace_range(start..start + len, "[redacted]");
            from = start + "[redacted]".len();
        }
    }
    out
}

/// A server's own volatile field, as given with `--redact`: a JSONPath (RFC 9535, such
/// as `$.body.requestId` or `$..requestId`) or a JSON pointer (`/body/requestId`).
#[derive(Debug, Clone)]
pub enum Redaction {
    /// Every value the path selects.
    Path(serde_json_path::JsonPath),
    /// The value at the pointer.
    Pointer(String),
}

impl std::str::FromStr for Redaction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with('/') {
            Ok(Redaction::Pointer(s.to_string()))
        } else if s.starts_with('$') {
            serde_json_path::JsonPath::parse(s)
                .map(Redaction::Path)
                .map_err(|e| format!("'{s}' is not a JSONPath: {e}"))
        } else {
            Err(format!(
                "'{s}' is neither a JSONPath ($.body.requestId, $..requestId) nor a JSON pointer (/body/requestId)"
            ))
        }
    }
}

/// Redacts every value the given paths or pointers select.
pub fn redact_selected(value: &mut Value, redactions: &[Redaction]) {
    for r in redactions {
        let pointers: Vec<String> = match r {
            Redaction::Pointer(p) => vec![p.clone()],
            Redaction::Path(path) => path
                .query_located(value)
                .locations()
                .map(|l| l.to_json_pointer())
                .collect(),
        };
        for p in pointers {
            if let Some(v) = value.pointer_mut(&p) {
                *v = Value::String("[redacted]".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonpaths_redact_every_match_and_bad_ones_say_why() {
        let mut v =
            json!({"body": {"requestId": "r1", "items": [{"requestId": "r2"}]}, "status": 402});
        redact_selected(&mut v, &["$..requestId".parse().unwrap()]);
        assert_eq!(
            v,
            json!({"body": {"requestId": "[redacted]", "items": [{"requestId": "[redacted]"}]}, "status": 402})
        );
        assert!(
            "$[".parse::<Redaction>()
                .unwrap_err()
                .contains("not a JSONPath")
        );
        assert!(
            "body.requestId"
                .parse::<Redaction>()
                .unwrap_err()
                .contains("JSON pointer")
        );
    }

    #[test]
    fn challenge_tokens_and_invoices_are_redacted() {
        assert_eq!(
            redact_challenge_params(r#"L402 macaroon="AgE=", invoice="lnbcrt1x""#),
            r#"L402 macaroon="[redacted]", invoice="[redacted]""#
        );
        assert_eq!(
            redact_challenge_params(r#"L402 version="0", token="x""#),
            r#"L402 version="0", token="[redacted]""#
        );
        assert_eq!(
            redact_challenge_params("Basic realm=\"a\""),
            "Basic realm=\"a\""
        );
    }

    #[test]
    fn keys_sort_and_volatile_values_go() {
        let mut v = sort_keys(
            json!({"b": 1, "a": {"nonce": "0x12", "url": "http://127.0.0.1:9/x", "z": [ {"y": 1, "x": 2} ]}}),
        );
        redact(&mut v, "http://127.0.0.1:9");
        redact_selected(&mut v, &["/b".parse().unwrap()]);
        assert_eq!(
            v.to_string(),
            r#"{"a":{"nonce":"[redacted]","url":"http://[target]/x","z":[{"x":2,"y":1}]},"b":"[redacted]"}"#
        );
    }
}
