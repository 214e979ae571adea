//! challenge: an unpaid request gets a 402 with a well-formed L402 challenge: a BOLT11
//! invoice that decodes, can still be paid and asks for the price, and a token bound to
//! its payment hash, new for every challenge.

use super::{SPEC, challenge, paid};
use crate::catalogue::spec::{Spec, add, body};
use crate::catalogue::{Check, Ctx, Level, Outcome};
use crate::protocol::l402::{Token, TokenKind, decode_invoice};
use crate::protocol::{Mode, Suite};
use alloy::primitives::hex;
use serde_json::Value;

/// An invoice with less than this left before it expires cannot be paid in practice.
const MIN_EXPIRY_LEFT_SECS: u64 = 10;

pub(super) fn register(suite: Suite, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, level, requirement, source| {
        Spec::new("challenge", name, title, level, requirement, source, &[])
    };
    add(
        out,
        suite,
        s(
            "status",
            "an unpaid request gets HTTP 402",
            Level::Must,
            "On a request that needs payment and carries no credential, the server MUST reply with 402 Payment Required.",
            "lightninglabs/L402 protocol-specification.md §4.1, §6.1",
        ),
        body(|ctx| Box::pin(status(ctx))),
    );
    add(
        out,
        suite,
        s(
            "header-grammar",
            "the 402 carries a well-formed L402 challenge",
            Level::Must,
            "The 402 MUST include WWW-Authenticate with an L402 challenge carrying the token (macaroon=, or token= with version=\"0\" in the token draft) and the invoice, in RFC 7235 auth-param syntax.",
            "lightninglabs/L402 protocol-specification.md §5.1, §5.3; RFC 7235 §4.1",
        ),
        body(|ctx| Box::pin(header_grammar(ctx))),
    );
    add(
        out,
        suite,
        s(
            "invoice-decodes",
            "the invoice is a valid, signed BOLT11 invoice",
            Level::Must,
            "The challenge's invoice is a BOLT11 invoice that decodes, with exactly one payment hash, a payment secret and a signature that verifies.",
            "BOLT 11 (writer requirements, signature); lightninglabs/L402 protocol-specification.md §6.1",
        ),
        body(|ctx| Box::pin(invoice_decodes(ctx))),
    );
    add(
        out,
        suite,
        s(
            "invoice-live",
            "the invoice can still be paid",
            Level::Must,
            "The invoice has not expired when the challenge is sent: the client MUST pay it to obtain the preimage.",
            "lightninglabs/L402 protocol-specification.md §6.2; BOLT 11 expiry (x) and payer requirements",
        ),
        body(|ctx| Box::pin(invoice_live(ctx))),
    );
    add(
        out,
        suite,
        s(
            "amount",
            "the invoice asks for the price",
            Level::Must,
            "The invoice states an amount, and it is the price the server states for the route (price_sats or priceSats in the body, when given).",
            "lightninglabs/L402 protocol-specification.md §6.1 (price in millisatoshis), §10.5 (clients check the amount)",
        ),
        body(|ctx| Box::pin(amount(ctx))),
    );
    add(
        out,
        suite,
        s(
            "token-bound",
            "the token commits to the invoice's payment hash",
            Level::Must,
            "The token (a macaroon) MUST commit to the invoice's payment hash: its version-0 identifier carries it.",
            "lightninglabs/L402 protocol-specification.md §5.1, §6.1; macaroon-spec.md \"Version 0 Format\"",
        ),
        body(|ctx| Box::pin(token_bound(ctx))),
    );
    add(
        out,
        suite,
        s(
            "fresh-invoice",
            "every challenge has a new invoice and token",
            Level::Must,
            "For each challenge the server creates a new invoice and MUST mint a new macaroon; one payment never unlocks another client's challenge.",
            SPEC,
        ),
        body(|ctx| Box::pin(fresh_invoice(ctx))),
    );
}

async fn status(ctx: &Ctx) -> Outcome {
    for route in &ctx.target.paid {
        let ex = ctx.target.send(route, None, &[]).await;
        if ex.status != 402 {
            return Outcome::fail(format!("402 for unpaid {route}"), ex.describe()).with(&ex);
        }
    }
    Outcome::pass(format!(
        "{} paid route(s) answer 402",
        ctx.target.paid.len()
    ))
}

async fn header_grammar(ctx: &Ctx) -> Outcome {
    let ex = ctx.target.send(paid(ctx), None, &[]).await;
    let values = ex.headers_all("www-authenticate");
    match crate::protocol::l402::read_challenges(&values) {
        Err(e) => Outcome::fail("an L402 challenge in WWW-Authenticate", e.to_string()).with(&ex),
        Ok(c) if !c.deviations.is_empty() => {
            let found: Vec<String> = c.deviations.iter().map(ToString::to_string).collect();
            Outcome::lenient(
                "an L402 challenge as the specification writes it",
                found.join("; "),
            )
            .with(&ex)
        }
        Ok(c) => {
            let forms: Vec<String> = c
                .all
                .iter()
                .map(|x| format!("{} {}=", x.scheme, x.token_param))
                .collect();
            Outcome::pass(format!("challenges: {}", forms.join(", ")))
        }
    }
}

async fn invoice_decodes(ctx: &Ctx) -> Outcome {
    let (c, ex) = match challenge(ctx, paid(ctx)).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    match decode_invoice(&c.preferred().invoice, Mode::Strict) {
        Ok(inv) => Outcome::pass(format!(
            "a signed {} invoice from node {}",
            inv.network.name(),
            hex::encode(&inv.payee[..8])
        )),
        Err(e) => {
            Outcome::fail("a BOLT11 invoice that decodes and verifies", e.to_string()).with(&ex)
        }
    }
}

async fn invoice_live(ctx: &Ctx) -> Outcome {
    let (c, ex) = match challenge(ctx, paid(ctx)).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let inv = match decode_invoice(&c.preferred().invoice, Mode::Lenient) {
        Ok(i) => i,
        Err(e) => return Outcome::not_exercised(format!("the invoice does not decode: {e}")),
    };
    let now = crate::payer::unix_now();
    let left = inv.expires_at().saturating_sub(now);
    if left >= MIN_EXPIRY_LEFT_SECS {
        Outcome::pass(format!("{left} s left to pay"))
    } else {
        Outcome::fail(
            format!("an invoice with at least {MIN_EXPIRY_LEFT_SECS} s left to pay"),
            format!(
                "it expires at {} (created {}, expiry {} s): {left} s left",
                inv.expires_at(),
                inv.timestamp,
                inv.expiry_secs
            ),
        )
        .with(&ex)
    }
}

/// The price a 402 body states, in millisatoshis (l402-kit writes `price_sats` or
/// `priceSats`).
fn stated_price_msat(body: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(body).ok()?;
    let sats = ["price_sats", "priceSats"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_u64));
    sats.map(|s| s * 1000)
        .or_else(|| v.get("price_msat").and_then(Value::as_u64))
}

async fn amount(ctx: &Ctx) -> Outcome {
    let (c, ex) = match challenge(ctx, paid(ctx)).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let inv = match decode_invoice(&c.preferred().invoice, Mode::Lenient) {
        Ok(i) => i,
        Err(e) => return Outcome::not_exercised(format!("the invoice does not decode: {e}")),
    };
    let Some(msat) = inv.amount_msat else {
        return Outcome::fail("an invoice that states its amount", "an amountless invoice")
            .with(&ex);
    };
    match stated_price_msat(&ex.body) {
        Some(price) if price != msat => Outcome::fail(
            format!("an invoice for the stated price, {price} msat"),
            format!("an invoice for {msat} msat"),
        )
        .with(&ex),
        Some(price) => Outcome::pass(format!("{price} msat, as stated")),
        None => Outcome::pass(format!(
            "{msat} msat (the server states no price to compare)"
        )),
    }
}

async fn token_bound(ctx: &Ctx) -> Outcome {
    let (c, ex) = match challenge(ctx, paid(ctx)).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let chosen = c.preferred();
    let inv = match decode_invoice(&chosen.invoice, Mode::Lenient) {
        Ok(i) => i,
        Err(e) => return Outcome::not_exercised(format!("the invoice does not decode: {e}")),
    };
    let token = match Token::read(&chosen.token) {
        Ok(t) => t,
        Err(e) => {
            return Outcome::fail("a base64 token", e).with(&ex);
        }
    };
    match token.payment_hash() {
        Some(h) if h == inv.payment_hash => {
            Outcome::pass(format!("{} bound to the invoice", token.describe()))
        }
        Some(h) => Outcome::fail(
            format!(
                "a token committing to the invoice's payment hash {}",
                hex::encode(inv.payment_hash)
            ),
            format!("it commits to {}", hex::encode(h)),
        )
        .with(&ex),
        None if matches!(token.kind, TokenKind::Macaroon { .. }) => Outcome::fail(
            "a macaroon with a version-0 L402 identifier",
            token.describe(),
        )
        .with(&ex),
        None => Outcome::not_exercised(format!(
            "paycheck cannot see inside this token ({}); L402 tokens are macaroons with a version-0 identifier",
            token.describe()
        )),
    }
}

async fn fresh_invoice(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (first, _) = match challenge(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (second, ex) = match challenge(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (a, b) = (first.preferred(), second.preferred());
    if a.invoice == b.invoice || a.token == b.token {
        Outcome::fail(
            "a new invoice and token in each challenge",
            if a.invoice == b.invoice {
                "the same invoice twice"
            } else {
                "the same token twice"
            },
        )
        .with(&ex)
    } else {
        Outcome::pass("two challenges, two invoices, two tokens")
    }
}
