//! L402 snapshots: for every paid route, the unpaid 402 with its challenges decoded (the
//! invoice's network, amount, description and expiry; the token's kind, location and
//! caveats), a malformed credential, a wrong preimage, the paid answer and its reuse.
//! Payment hashes, token ids, times and the tokens and invoices themselves change with
//! every challenge and are redacted.

use super::{Captured, SnapshotConfig, capture_paid, document, slug};
use crate::catalogue::Ctx;
use crate::protocol::Mode;
use crate::protocol::l402::Token;
use crate::protocol::l402::{TokenKind, decode_invoice, format_credential, read_challenges};
use crate::target::{Exchange, PaymentHeader};
use alloy::primitives::{B256, hex};
use serde_json::{Value, json};

/// A caveat with its time redacted (`premium_valid_until=[redacted]`).
fn caveat_text(text: String) -> String {
    match text.split_once('=') {
        Some((k, _)) if k.ends_with("_valid_until") => format!("{k}=[redacted]"),
        _ => text,
    }
}

fn token_json(text: &str) -> Value {
    let Ok(token) = Token::read(text) else {
        return json!({"kind": "not base64"});
    };
    match &token.kind {
        TokenKind::Macaroon {
            macaroon,
            identifier,
        } => json!({
            "kind": "macaroon",
            "location": macaroon.location,
            "identifier": match identifier {
                Ok(id) => json!({"version": id.version, "payment_hash": "[redacted]", "token_id": "[redacted]"}),
                Err(e) => json!({"error": e}),
            },
            "caveats": macaroon.caveats.iter().map(|c| caveat_text(c.text())).collect::<Vec<_>>(),
        }),
        TokenKind::Json { .. } => {
            json!({"kind": "json", "hash": "[redacted]", "exp": "[redacted]"})
        }
        TokenKind::Opaque => json!({"kind": "opaque", "bytes": token.bytes.len()}),
    }
}

/// The response's L402 challenges, decoded and redacted, if it has any.
pub(super) fn decoded_challenges(ex: &Exchange) -> Option<Value> {
    let read = read_challenges(&ex.headers_all("www-authenticate")).ok()?;
    let list: Vec<Value> = read
        .all
        .iter()
        .map(|c| {
            let invoice = match decode_invoice(&c.invoice, Mode::Lenient) {
                Ok(inv) => json!({
                    "network": inv.network.name(),
                    "amount_msat": inv.amount_msat,
                    "description": inv.description,
                    "expiry_secs": inv.expiry_secs,
                    "payee": hex::encode(inv.payee),
                    "payment_secret": inv.has_payment_secret,
                    "payment_hash": "[redacted]",
                    "timestamp": "[redacted]",
                }),
                Err(e) => json!({"error": e.to_string()}),
            };
            json!({
                "scheme": c.scheme,
                "version": c.version,
                "token_param": c.token_param,
                "token": token_json(&c.token),
                "invoice": invoice,
            })
        })
        .collect();
    Some(Value::Array(list))
}

/// Captures every L402 snapshot of one suite.
pub(super) async fn capture(ctx: &Ctx, config: &SnapshotConfig) -> Vec<Captured> {
    let suite = ctx.target.suite.id();
    let mut out = Vec::new();
    for route in &ctx.target.paid {
        let base = format!("{suite}__{}", slug(route));
        let mut add = |case: &str, ex: &Exchange| {
            out.push((format!("{base}__{case}"), document(ctx, ex, config)))
        };
        let unpaid = ctx.target.send(route, None, &[]).await;
        add("unpaid", &unpaid);
        let malformed = ctx.target.send(route, Some("L402 %%%"), &[]).await;
        add("malformed-credential", &malformed);
        let challenges = match read_challenges(&unpaid.headers_all("www-authenticate")) {
            Ok(c) => c,
            Err(e) => {
                let why = format!("the unpaid answer has no readable challenge ({e})");
                capture_paid(ctx, route, &base, Err(why), config, &mut out).await;
                continue;
            }
        };
        let chosen = challenges.preferred().clone();
        let wrong = format_credential("L402", &chosen.token, &hex::encode(B256::ZERO));
        let bad = ctx.target.send(route, Some(&wrong), &[]).await;
        add("bad-preimage", &bad);
        let payment = ctx
            .lightning
            .as_deref()
            .ok_or_else(|| crate::catalogue::Need::Lightning.how().to_string())
            .and_then(|ln| {
                ctx.payer
                    .pay_l402(ln, &chosen)
                    .map(|paid| PaymentHeader::opaque(paid.credential, paid.payment_hash))
                    .map_err(|e| format!("paycheck cannot pay this invoice: {e}"))
            });
        capture_paid(ctx, route, &base, payment, config, &mut out).await;
    }
    out
}
