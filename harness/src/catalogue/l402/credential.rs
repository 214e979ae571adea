//! credential: a paid credential is accepted (in both schemes), and every credential that
//! does not prove payment for this service, now, is refused: a wrong preimage, a token the
//! client minted itself, a tampered token, an expired or narrowed one, and malformed ones.

use super::{all_refused, challenge, paid, paid_credential, send_credential};
use crate::catalogue::spec::{Spec, add, body};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::Suite;
use crate::protocol::codec::encode_base64;
use crate::protocol::l402::{Identifier, Macaroon, Token, TokenKind, format_credential, sha256};
use alloy::primitives::{B256, hex};
use serde_json::json;

pub(super) fn register(suite: Suite, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, level, requirement, source, needs| Spec {
        section: "credential",
        name: name.into(),
        title: title.into(),
        level,
        requirement,
        source,
        needs,
    };
    const LN: &[Need] = &[Need::Lightning];
    add(
        out,
        suite,
        s(
            "paid-accepted",
            "a paid credential is accepted",
            Level::Must,
            "A credential with the token and the preimage of its paid invoice is accepted and the resource served.",
            "lightninglabs/L402 protocol-specification.md §4.1 (valid credential → 200), §6.1",
            LN,
        ),
        body(|ctx| Box::pin(paid_accepted(ctx))),
    );
    add(
        out,
        suite,
        s(
            "lsat-scheme",
            "the scheme is case-insensitive and LSAT is accepted",
            Level::Must,
            "Servers MUST accept both LSAT and L402 in Authorization, and the scheme name is case-insensitive.",
            "lightninglabs/L402 protocol-specification.md §11 (backwards compatibility); RFC 7235 §2.1",
            LN,
        ),
        body(|ctx| Box::pin(lsat_scheme(ctx))),
    );
    add(
        out,
        suite,
        s(
            "bad-preimage",
            "a credential with a wrong preimage is refused",
            Level::Must,
            "The server MUST verify that sha256(preimage) is the token's payment hash; when it is not, it MUST respond 401.",
            "lightninglabs/L402 protocol-specification.md §4.1, §6.1",
            &[],
        ),
        body(|ctx| Box::pin(bad_preimage(ctx))),
    );
    add(
        out,
        suite,
        s(
            "self-minted",
            "a token the client made for its own preimage is refused",
            Level::Must,
            "The server MUST verify the token's integrity (the macaroon's HMAC chain): a token minted by the client for a preimage of its own choosing is refused.",
            "lightninglabs/L402 protocol-specification.md §6.1; protocols.md §7.3 (l402-kit accepts such tokens)",
            &[],
        ),
        body(|ctx| Box::pin(self_minted(ctx))),
    );
    add(
        out,
        suite,
        s(
            "tampered-token",
            "a paid token with an edited caveat or signature is refused",
            Level::Must,
            "A token whose caveats or signature were altered fails verification and MUST be refused with 401, even with the right preimage.",
            "lightninglabs/L402 protocol-specification.md §4.1, §6.1; macaroon-spec.md",
            LN,
        ),
        body(|ctx| Box::pin(tampered_token(ctx))),
    );
    add(
        out,
        suite,
        s(
            "expired-caveat",
            "a paid token narrowed to an expiry in the past is refused",
            Level::Must,
            "Every caveat must hold: a paid token to which the client added an expiry caveat (<service>_valid_until) in the past is refused.",
            "lightninglabs/L402 macaroons.md (caveats, attenuation); aperture l402/satisfier.go",
            LN,
        ),
        body(|ctx| Box::pin(expired_caveat(ctx))),
    );
    add(
        out,
        suite,
        s(
            "other-service",
            "a paid token for another service is refused",
            Level::Must,
            "Caveats must hold for the target service: a token for another service (another route's, or narrowed by a services= caveat) is refused.",
            "lightninglabs/L402 protocol-specification.md §6.1 (caveats); macaroons.md (services)",
            LN,
        ),
        body(|ctx| Box::pin(other_service(ctx))),
    );
    add(
        out,
        suite,
        s(
            "control-characters",
            "control characters or extra colons make a credential invalid",
            Level::Must,
            "If the token or the preimage contains control characters, or the credential has extra colons, the server MUST treat it as invalid and respond 401 (the older text: a 402 with a new challenge).",
            "lightninglabs/L402 protocol-specification.md §5.2; bLIP-26",
            LN,
        ),
        body(|ctx| Box::pin(control_characters(ctx))),
    );
}

async fn paid_accepted(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (_, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ex = send_credential(ctx, route, &payment.credential).await;
    if ex.is_success() {
        Outcome::pass(format!("served with {}", ex.describe()))
    } else {
        Outcome::fail("the resource (2xx) for a paid credential", ex.describe()).with(&ex)
    }
}

async fn lsat_scheme(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    // Each scheme gets its own payment, so that single-use servers are graded alike.
    for scheme in ["LSAT", "l402"] {
        let (_, payment) = match paid_credential(ctx, route).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let value = format_credential(scheme, &payment.token, &payment.preimage_hex);
        let ex = send_credential(ctx, route, &value).await;
        if !ex.is_success() {
            return Outcome::fail(
                format!("a paid credential with the scheme '{scheme}' accepted"),
                ex.describe(),
            )
            .with(&ex);
        }
    }
    Outcome::pass("LSAT and l402 accepted")
}

async fn bad_preimage(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (c, _) = match challenge(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let wrong = hex::encode(B256::random());
    let value = format_credential("L402", &c.preferred().token, &wrong);
    let ex = send_credential(ctx, route, &value).await;
    all_refused(&[("a random preimage".into(), ex)])
}

/// A macaroon like the server's (location, caveats) but minted by the client, with a
/// version-0 identifier for `payment_hash`.
fn forged_macaroon(template: Option<&Macaroon>, payment_hash: [u8; 32]) -> Macaroon {
    let id = Identifier::new(payment_hash, B256::random().0);
    let location = template.map_or("", |m| m.location.as_str());
    let mut forged = Macaroon::mint(&B256::random().0, id.encode(), location);
    for c in template.map(|m| m.caveats.as_slice()).unwrap_or_default() {
        forged.add_first_party_caveat(&c.text());
    }
    forged
}

async fn self_minted(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (c, _) = match challenge(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let server_token = Token::read(&c.preferred().token).ok();
    let preimage = B256::random().0;
    let hash = sha256(&preimage);
    let macaroon = forged_macaroon(server_token.as_ref().and_then(Token::macaroon), hash);
    let now_ms = crate::payer::unix_now() * 1000;
    let json_token = encode_base64(
        json!({"hash": hex::encode(hash), "exp": now_ms + 3_600_000})
            .to_string()
            .as_bytes(),
    );
    let mut answers = Vec::new();
    for (what, token) in [
        ("a macaroon minted by the client", macaroon.to_base64()),
        ("an unsigned JSON token (l402-kit's kind)", json_token),
    ] {
        let value = format_credential("L402", &token, &hex::encode(preimage));
        answers.push((what.to_string(), send_credential(ctx, route, &value).await));
    }
    all_refused(&answers)
}

async fn tampered_token(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (chosen, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let token = match Token::read(&chosen.token) {
        Ok(t) => t,
        Err(e) => return Outcome::not_exercised(format!("the token is not base64: {e}")),
    };
    let mut variants = Vec::new();
    if let Some(m) = token.macaroon() {
        // The last caveat is usually the expiry: a '0' more makes it ten times later.
        let mut edited = m.clone();
        match edited.caveats.last_mut() {
            Some(c) => c.id.extend_from_slice(b"0"),
            None => edited.identifier[0] ^= 1,
        }
        variants.push(("its last caveat edited", edited.to_base64()));
        let mut flipped = m.clone();
        flipped.signature[31] ^= 1;
        variants.push(("one signature bit flipped", flipped.to_base64()));
    } else {
        let mut bytes = token.bytes.clone();
        let i = bytes.len() / 2;
        bytes[i] ^= 1;
        variants.push(("one byte flipped", encode_base64(&bytes)));
    }
    let mut answers = Vec::new();
    for (what, t) in variants {
        let value = format_credential("L402", &t, &payment.preimage_hex);
        answers.push((
            format!("the paid token with {what}"),
            send_credential(ctx, route, &value).await,
        ));
    }
    all_refused(&answers)
}

/// The service names in a macaroon's `services=` caveats.
fn services(m: &Macaroon) -> Vec<String> {
    m.conditions()
        .into_iter()
        .filter(|(k, _)| k == "services")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.split(':').next().unwrap_or("").trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn expired_caveat(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (chosen, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let token = match Token::read(&chosen.token) {
        Ok(t) => t,
        Err(e) => return Outcome::not_exercised(format!("the token is not base64: {e}")),
    };
    let past = crate::payer::unix_now().saturating_sub(60);
    let narrowed = match &token.kind {
        TokenKind::Macaroon { macaroon, .. } => {
            let mut keys: Vec<String> = macaroon
                .conditions()
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| k.ends_with("_valid_until"))
                .collect();
            if keys.is_empty() {
                keys = services(macaroon)
                    .iter()
                    .map(|s| format!("{s}_valid_until"))
                    .collect();
            }
            if keys.is_empty() {
                return Outcome::not_exercised(
                    "the token has no expiry or services caveat to narrow",
                );
            }
            let mut m = (**macaroon).clone();
            keys.dedup();
            for k in keys {
                m.add_first_party_caveat(&format!("{k}={past}"));
            }
            m.to_base64()
        }
        TokenKind::Json { hash, .. } => encode_base64(
            json!({"hash": hash.map(hex::encode), "exp": past * 1000})
                .to_string()
                .as_bytes(),
        ),
        TokenKind::Opaque => {
            return Outcome::not_exercised(format!(
                "paycheck cannot narrow this token ({})",
                token.describe()
            ));
        }
    };
    let value = format_credential("L402", &narrowed, &payment.preimage_hex);
    let ex = send_credential(ctx, route, &value).await;
    all_refused(&[("the paid token with an expiry in the past".into(), ex)])
}

async fn other_service(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (chosen, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let Some(mine) = Token::read(&chosen.token)
        .ok()
        .and_then(|t| t.macaroon().cloned())
    else {
        return Outcome::not_exercised("the token is not a macaroon with caveats to narrow");
    };
    let my_services = services(&mine);
    let mut answers = Vec::new();
    // Another route's paid token, when that route is another service.
    if let Some(other) = ctx.target.paid.get(1) {
        match paid_credential(ctx, other).await {
            Ok((c, p)) => {
                let theirs = Token::read(&c.token)
                    .ok()
                    .and_then(|t| t.macaroon().map(services))
                    .unwrap_or_default();
                if !theirs.is_empty() && theirs.iter().all(|s| !my_services.contains(s)) {
                    answers.push((
                        format!("the paid token of {other} (services {})", theirs.join(",")),
                        send_credential(ctx, route, &p.credential).await,
                    ));
                }
            }
            Err(o) => return o,
        }
    }
    // The route's own paid token, narrowed to a service that does not exist.
    if !my_services.is_empty() {
        let mut narrowed = mine.clone();
        narrowed.add_first_party_caveat("services=paycheck-other-service:0");
        let value = format_credential("L402", &narrowed.to_base64(), &payment.preimage_hex);
        answers.push((
            "the paid token narrowed to services=paycheck-other-service:0".into(),
            send_credential(ctx, route, &value).await,
        ));
    }
    if answers.is_empty() {
        return Outcome::not_exercised(
            "the token names no service (no services= caveat), and no second paid route names another",
        );
    }
    all_refused(&answers)
}

async fn control_characters(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (_, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (t, p) = (payment.token.as_str(), payment.preimage_hex.as_str());
    let (th, tt) = t.split_at(t.len() / 2);
    let (ph, pt) = p.split_at(p.len() / 2);
    let variants = [
        ("a tab inside the token", format!("L402 {th}\t{tt}:{p}")),
        ("a tab inside the preimage", format!("L402 {t}:{ph}\t{pt}")),
        ("an extra colon", format!("L402 {t}::{p}")),
        ("a colon inside the token", format!("L402 {th}:{tt}:{p}")),
    ];
    let mut answers = Vec::new();
    for (what, value) in variants {
        answers.push((
            format!("the paid credential with {what}"),
            send_credential(ctx, route, &value).await,
        ));
    }
    let graded = all_refused(&answers);
    if graded.status == crate::catalogue::Status::Fail {
        return graded;
    }
    // The credential itself is good: the refusals were about the characters.
    let control = send_credential(ctx, route, &payment.credential).await;
    if !control.is_success() {
        return Outcome::not_exercised(format!(
            "the unaltered paid credential was not accepted either ({}), so the refusals show nothing",
            control.describe()
        ))
        .with(&control);
    }
    graded
}
