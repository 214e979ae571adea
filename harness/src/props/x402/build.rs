//! Turns a case (a list of edits) into a payment header for a challenge.

use super::edits::{Edit, Resign};
use crate::catalogue::Ctx;
use crate::payer::WrongPayment;
use crate::protocol::Dialect;
use crate::protocol::codec::{decode_base64, encode_base64};
use crate::target::Challenge;
use alloy::primitives::U256;
use base64::Engine as _;
use serde_json::{Value, json};

/// A built case: the header to send, the signed nonce, and the JSON inside.
pub struct Built {
    /// The payment header value.
    pub header: String,
    /// The nonce that was signed (the journal's key for this payment).
    pub nonce: String,
    /// The payload JSON after the edits (before encoding edits).
    pub json: Value,
    /// True when an edit that changed something makes the payment one to refuse (an
    /// edit that sets a field to the value it had changes nothing).
    pub must_refuse: bool,
}

/// The secp256k1 group order, for high-s signatures.
const N: U256 = alloy::primitives::uint!(
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256
);

fn shift(amount: &str, delta: i8) -> String {
    let a: u128 = amount.parse().unwrap_or(0);
    a.saturating_add_signed(i128::from(delta)).to_string()
}

/// Signs the case's payment and applies its edits.
pub fn build(ctx: &Ctx, challenge: &Challenge, edits: &[Edit]) -> Result<Built, String> {
    let dialect = ctx.target.dialect();
    let mut signed = challenge.clone();
    let mut wrong = None;
    let mut follow_amount = None;
    for e in edits {
        let Edit::Resign(r) = e else { continue };
        match (r, &mut signed) {
            (Resign::Amount { delta, follow }, Challenge::V2(c)) => {
                let offer = c.accepts.first_mut().ok_or("no offer")?;
                offer.amount = shift(&offer.amount, *delta);
                if *follow {
                    follow_amount = Some(offer.amount.clone());
                }
            }
            (Resign::Amount { delta, .. }, Challenge::V1(c)) => {
                let offer = c.accepts.first_mut().ok_or("no offer")?;
                offer.max_amount_required = shift(&offer.max_amount_required, *delta);
            }
            (Resign::Window { after, before }, _) => {
                wrong = Some(WrongPayment::Window {
                    after: *after,
                    before: *before,
                })
            }
            (Resign::Signer, _) => wrong = Some(WrongPayment::WrongSigner),
            (Resign::DomainChain, Challenge::V2(c)) => {
                if let Some(o) = c.accepts.first_mut() {
                    o.network = "eip155:43113".into();
                }
            }
            (Resign::DomainChain, Challenge::V1(c)) => {
                if let Some(o) = c.accepts.first_mut() {
                    o.network = "avalanche-fuji".into();
                }
            }
            (Resign::DomainContract, Challenge::V2(c)) => {
                if let Some(o) = c.accepts.first_mut() {
                    o.asset = crate::payer::wrong::OTHER_ASSET.to_checksum(None);
                }
            }
            (Resign::DomainContract, Challenge::V1(c)) => {
                if let Some(o) = c.accepts.first_mut() {
                    o.asset = crate::payer::wrong::OTHER_ASSET.to_checksum(None);
                }
            }
            (_, Challenge::L402(_)) => {
                return Err("an L402 challenge has no x402 offer to sign".into());
            }
            (Resign::DomainName | Resign::DomainVersion, c) => {
                let key = if matches!(r, Resign::DomainName) {
                    "name"
                } else {
                    "version"
                };
                let extra = match c {
                    Challenge::V2(c) => c.accepts.first_mut().and_then(|o| o.extra.as_mut()),
                    Challenge::V1(c) => c.accepts.first_mut().and_then(|o| o.extra.as_mut()),
                    Challenge::L402(_) => None,
                };
                if let Some(extra) = extra {
                    extra[key] = json!("paycheck-other-domain");
                }
            }
        }
    }
    let payment = ctx
        .target
        .pay(&ctx.payer, &signed, wrong.as_ref())
        .map_err(|e| e.to_string())?;
    let (bytes, _) = decode_base64(&payment.value).map_err(|e| e.to_string())?;
    let mut json: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    // v2: `accepted` is the server's offer unless an amount edit follows into it.
    if let Challenge::V2(original) = challenge
        && let Some(offer) = original.accepts.first()
    {
        let mut accepted = serde_json::to_value(offer).map_err(|e| e.to_string())?;
        if let Some(amount) = follow_amount {
            accepted["amount"] = json!(amount);
        }
        json["accepted"] = accepted;
    }
    // v1: the payload names the offer's network, whatever was signed.
    if let Challenge::V1(original) = challenge
        && let Some(offer) = original.accepts.first()
    {
        json["network"] = json!(offer.network);
    }
    let signed_json = json.clone();
    for e in edits {
        apply(dialect, &mut json, e);
    }
    // A field edit counts by its end result: set twice back to the signed value, it is no
    // edit at all.
    let must_refuse = edits.iter().filter(|e| e.must_refuse()).any(|e| match e {
        Edit::Set { field, .. } | Edit::Remove { field } => {
            let p = field.pointer(dialect);
            json.pointer(&p) != signed_json.pointer(&p)
        }
        _ => true,
    });
    Ok(Built {
        header: encode(&json, edits)?,
        nonce: payment.nonce,
        json,
        must_refuse,
    })
}

fn parent_and_key<'a>(
    json: &'a mut Value,
    pointer: &str,
) -> Option<(&'a mut serde_json::Map<String, Value>, String)> {
    let (parent, key) = pointer.rsplit_once('/')?;
    let parent = if parent.is_empty() {
        Some(json)
    } else {
        json.pointer_mut(parent)
    }?;
    Some((parent.as_object_mut()?, key.to_string()))
}

fn apply(dialect: Dialect, json: &mut Value, edit: &Edit) {
    match edit {
        Edit::Set { field, value } => {
            let pointer = field.pointer(dialect);
            if value.as_str() == Some("<lowercase>") {
                if let Some(Value::String(s)) = json.pointer_mut(&pointer) {
                    *s = s.to_lowercase();
                }
            } else if let Some((parent, key)) = parent_and_key(json, &pointer) {
                parent.insert(key, value.clone());
            }
        }
        Edit::Remove { field } => {
            if let Some((parent, key)) = parent_and_key(json, &field.pointer(dialect)) {
                parent.remove(&key);
            }
        }
        Edit::Extra { name } => {
            if let Value::Object(map) = json {
                map.insert(format!("x-{name}"), json!("paycheck"));
            }
        }
        Edit::Nest { depth } => {
            if let Some(payload) = json.get_mut("payload") {
                let mut nested = payload.take();
                for _ in 0..*depth {
                    nested = Value::Array(vec![nested]);
                }
                *payload = nested;
            }
        }
        Edit::FlipBit { byte, bit } => {
            edit_signature(json, |sig| sig[usize::from(*byte)] ^= 1 << bit)
        }
        Edit::HighS => edit_signature(json, |sig| {
            let s = U256::from_be_slice(&sig[32..64]);
            sig[32..64].copy_from_slice(&(N - s).to_be_bytes::<32>());
            sig[64] = if sig[64] == 27 {
                28
            } else if sig[64] == 28 {
                27
            } else {
                sig[64] ^ 1
            };
        }),
        _ => {}
    }
}

fn edit_signature(json: &mut Value, f: impl FnOnce(&mut Vec<u8>)) {
    let Some(Value::String(sig)) = json.pointer_mut("/payload/signature") else {
        return;
    };
    let Ok(mut bytes) = alloy::primitives::hex::decode(sig.trim_start_matches("0x")) else {
        return;
    };
    if bytes.len() == 65 {
        f(&mut bytes);
        *sig = format!("0x{}", alloy::primitives::hex::encode(bytes));
    }
}

fn encode(json: &Value, edits: &[Edit]) -> Result<String, String> {
    let mut text = if edits.contains(&Edit::Spaces) {
        serde_json::to_string_pretty(json).unwrap_or_default()
    } else {
        json.to_string()
    };
    if edits.contains(&Edit::DuplicateKey) {
        text = text.replacen("\"value\":", "\"value\":\"1\",\"value\":", 1);
    }
    let mut header = if edits.contains(&Edit::UrlSafe) {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes())
    } else {
        encode_base64(text.as_bytes())
    };
    for e in edits {
        match e {
            Edit::Truncate { permille } => {
                let keep = header.len() * usize::from(*permille) / 1000;
                header.truncate(keep);
            }
            Edit::Garbage => header.push_str("!!*"),
            _ => {}
        }
    }
    Ok(header)
}
