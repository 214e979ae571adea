//! The `payment-identifier` extension (x402 `specs/extensions/payment_identifier.md`): a
//! server advertises it in the 402's `extensions`, a client echoes it into its payment with
//! an `info.id` that works as an idempotency key. Same id and same payload: the cached
//! answer; same id and another payload: 409; `required: true` and no id: 400.

use crate::protocol::v2::PaymentPayload;
use alloy::primitives::B256;
use serde_json::{Map, Value, json};

/// The extension's key in `extensions`.
pub const EXTENSION: &str = "payment-identifier";
/// The shortest id the extension allows.
pub const MIN_ID_LEN: usize = 16;
/// The longest id the extension allows.
pub const MAX_ID_LEN: usize = 128;

/// What a server declares: `{info: {required}, schema}`, as the extension's example has it.
pub fn declaration(required: bool) -> Value {
    json!({
        "info": {"required": required},
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "required": {"type": "boolean"},
                "id": {"type": "string", "minLength": MIN_ID_LEN, "maxLength": MAX_ID_LEN}
            },
            "required": ["required"]
        }
    })
}

/// How a 402's `extensions` advertise the extension: `None` when they do not, else
/// whether an id is required.
pub fn advertised(extensions: Option<&Map<String, Value>>) -> Option<bool> {
    let declared = extensions?.get(EXTENSION)?;
    Some(
        declared
            .pointer("/info/required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    )
}

/// The payment's echo of a declaration with `id` added (the schema kept as declared).
pub fn echo(declared: &Value, id: &str) -> Value {
    let mut echo = declared.clone();
    if !echo.is_object() {
        echo = json!({});
    }
    if !echo.get("info").is_some_and(Value::is_object) {
        echo["info"] = json!({"required": false});
    }
    echo["info"]["id"] = json!(id);
    echo
}

/// Echoes the extension into `payload` with a fresh id when the 402's `extensions`
/// declare it, as a client does; returns the id.
pub fn attach(
    payload: &mut PaymentPayload,
    extensions: Option<&Map<String, Value>>,
) -> Option<String> {
    let declared = extensions?.get(EXTENSION)?;
    let id = fresh_id();
    payload.extensions = Some(json!({ EXTENSION: echo(declared, &id) }));
    Some(id)
}

/// A fresh id as the extension recommends: a prefix and 32 random hex digits.
pub fn fresh_id() -> String {
    let random = B256::random();
    format!("pay_{}", alloy::primitives::hex::encode(&random[..16]))
}

/// The id a payment (wire JSON) carries, as sent: `Some(Err)` when `info.id` is there but
/// is not a string.
pub fn id_of(payload: &Value) -> Option<Result<&str, String>> {
    let id = payload
        .get("extensions")?
        .get(EXTENSION)?
        .get("info")?
        .get("id")?;
    Some(
        id.as_str()
            .ok_or_else(|| format!("info.id is {id}, not a string")),
    )
}

/// Why an id breaks the extension's grammar (16 to 128 of `A-Z a-z 0-9 - _`), if it does.
pub fn grammar_error(id: &str) -> Option<String> {
    let len = id.chars().count();
    if !(MIN_ID_LEN..=MAX_ID_LEN).contains(&len) {
        return Some(format!(
            "the id is {len} characters; the extension allows {MIN_ID_LEN} to {MAX_ID_LEN}"
        ));
    }
    id.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        .map(|c| format!("the id holds {c:?}; the extension allows letters, digits, - and _"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_takes_16_to_128_letters_digits_hyphens_underscores() {
        assert_eq!(grammar_error(&fresh_id()), None);
        assert_eq!(grammar_error(&"a".repeat(16)), None);
        assert_eq!(grammar_error(&"a-_9".repeat(32)), None);
        assert!(grammar_error(&"a".repeat(15)).unwrap().contains("15"));
        assert!(grammar_error(&"a".repeat(129)).unwrap().contains("129"));
        assert!(
            grammar_error("pay_0123456789 abcdef")
                .unwrap()
                .contains("' '")
        );
        assert!(grammar_error("pay_0123456789!abcdef").is_some());
    }

    #[test]
    fn an_echo_keeps_the_declaration_and_adds_the_id() {
        let declared = declaration(true);
        let echoed = echo(&declared, "pay_0123456789abcdef");
        assert_eq!(echoed["schema"], declared["schema"]);
        assert_eq!(
            echoed["info"],
            json!({"required": true, "id": "pay_0123456789abcdef"})
        );
        let payload = json!({"extensions": {EXTENSION: echoed}});
        assert_eq!(id_of(&payload), Some(Ok("pay_0123456789abcdef")));
        assert_eq!(id_of(&json!({})), None);
        let bad = json!({"extensions": {EXTENSION: {"info": {"id": 7}}}});
        assert!(id_of(&bad).unwrap().is_err());
    }

    #[test]
    fn advertised_reads_required_and_defaults_it_to_false() {
        let mut ext = Map::new();
        assert_eq!(advertised(None), None);
        assert_eq!(advertised(Some(&ext)), None);
        ext.insert(EXTENSION.into(), declaration(true));
        assert_eq!(advertised(Some(&ext)), Some(true));
        ext.insert(EXTENSION.into(), json!({"info": {}}));
        assert_eq!(advertised(Some(&ext)), Some(false));
    }
}
