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

/// Redacts the value at each JSON pointer given with `--redact`.
pub fn redact_pointers(value: &mut Value, pointers: &[String]) {
    for p in pointers {
        if let Some(v) = value.pointer_mut(p) {
            *v = Value::String("[redacted]".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        redact_pointers(&mut v, &["/b".to_string()]);
        assert_eq!(
            v.to_string(),
            r#"{"a":{"nonce":"[redacted]","url":"http://[target]/x","z":[{"x":2,"y":1}]},"b":"[redacted]"}"#
        );
    }
}
