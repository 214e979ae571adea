//! credential: a paid credential is accepted (in both schemes), and every credential that
//! does not prove payment for this service, now, is refused: a wrong preimage, a token the
//! client minted itself, a tampered token, an expired or narrowed one, and malformed ones.

use super::{all_refused, challenge, paid, paid_credential, send_credential};
use crate::catalogue::spec::{Spec, add, body};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::payer::lightning::L402Payment;
use crate::protocol::Suite;
use crate::protocol::codec::encode_base64;
use crate::protocol::l402::{Identifier, Macaroon, Token, TokenKind, format_credential, sha256};
use crate::target::RouteSpec;
use alloy::primitives::{B256, hex};
use serde_json::json;

pub(super) fn register(suite: Suite, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, level, requirement, source, needs| {
        Spec::new("credential", name, title, level, requirement, source, needs)
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
            "a paid token for another service or a cheaper route is refused",
            Level::Must,
            "A credential pays for one service: another route's (a cheaper one's, or one naming another service), or the route's own narrowed by a services= caveat, is refused.",
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
            "control characters make a credential invalid",
            Level::Must,
            "If the token or the preimage contains control characters, the server MUST treat the credential as invalid and respond 401 (the older text: a 402 with a new challenge).",
            "lightninglabs/L402 protocol-specification.md §5.2; bLIP-26",
            LN,
        ),
        body(|ctx| Box::pin(control_characters(ctx))),
    );
    add(
        out,
        suite,
        s(
            "extra-colons",
            "extra colons make a credential invalid",
            Level::Should,
            "A credential with colons beyond the one between token and preimage is invalid and SHOULD be refused (the older text: with a 402 and a new challenge).",
            "bLIP-26; lightninglabs/L402 protocol-specification.md (earlier text)",
            LN,
        ),
        body(|ctx| Box::pin(extra_colons(ctx))),
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

/// A paid credential of `route`, its token read.
async fn paid_token(ctx: &Ctx, route: &RouteSpec) -> Result<(Token, L402Payment), Outcome> {
    let (chosen, payment) = paid_credential(ctx, route).await?;
    let token = Token::read(&chosen.token)
        .map_err(|e| Outcome::not_exercised(format!("the token is not base64: {e}")))?;
    Ok((token, payment))
}

async fn tampered_token(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (token, payment) = match paid_token(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
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
    let (token, payment) = match paid_token(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
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

/// The invoice amount of a challenge, in millisatoshis.
fn amount_msat(c: &crate::protocol::l402::L402Challenge) -> Option<u64> {
    crate::protocol::l402::decode_invoice(&c.invoice, crate::protocol::Mode::Lenient)
        .ok()?
        .amount_msat
}

async fn other_service(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (chosen, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let mine = Token::read(&chosen.token)
        .ok()
        .and_then(|t| t.macaroon().cloned());
    let my_services = mine.as_ref().map(services).unwrap_or_default();
    let mut answers = Vec::new();
    // Another paid route's credential: a cheaper route's (whatever the token's kind), or
    // one naming another service.
    if let Some(other) = ctx.target.paid.get(1) {
        let (theirs, their_payment) = match paid_credential(ctx, other).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let their_services = Token::read(&theirs.token)
            .ok()
            .and_then(|t| t.macaroon().map(services))
            .unwrap_or_default();
        match (amount_msat(&chosen), amount_msat(&theirs)) {
            (Some(mine), Some(dearer)) if mine < dearer => answers.push((
                format!("the paid credential of the cheaper {route} sent to {other}"),
                send_credential(ctx, other, &payment.credential).await,
            )),
            (Some(dearer), Some(cheaper)) if cheaper < dearer => answers.push((
                format!("the paid credential of the cheaper {other} sent to {route}"),
                send_credential(ctx, route, &their_payment.credential).await,
            )),
            _ if !their_services.is_empty()
                && their_services.iter().all(|s| !my_services.contains(s)) =>
            {
                answers.push((
                    format!(
                        "the paid token of {other} (services {})",
                        their_services.join(",")
                    ),
                    send_credential(ctx, route, &their_payment.credential).await,
                ));
            }
            _ => {}
        }
    }
    // The route's own paid token, narrowed to a service that does not exist.
    if let Some(mine) = mine.filter(|_| !my_services.is_empty()) {
        let mut narrowed = mine;
        narrowed.add_first_party_caveat("services=paycheck-other-service:0");
        let value = format_credential("L402", &narrowed.to_base64(), &payment.preimage_hex);
        answers.push((
            "the paid token narrowed to services=paycheck-other-service:0".into(),
            send_credential(ctx, route, &value).await,
        ));
    }
    if answers.is_empty() {
        return Outcome::not_exercised(
            "the token names no service (no services= caveat), and there is no second paid route at another price or service",
        );
    }
    all_refused(&answers)
}

/// A variant of a paid credential: what it is, and how it is written from the token and
/// the preimage.
type Variant = (&'static str, fn(&str, &str) -> String);

/// Sends each variant of a paid credential, each with a payment of its own (so that a
/// single-use server judges every variant on its own), and grades the refusals with
/// `grade`; then the last payment, unaltered, must be accepted: the refusals were about
/// the variants, not the payments.
async fn variants_refused(
    ctx: &Ctx,
    variants: &[Variant],
    grade: fn(&[(String, crate::target::Exchange)]) -> Outcome,
) -> Outcome {
    let route = paid(ctx);
    let mut answers = Vec::new();
    let mut last = None;
    for (what, make) in variants {
        let (_, payment) = match paid_credential(ctx, route).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let value = make(&payment.token, &payment.preimage_hex);
        answers.push((
            format!("the paid credential with {what}"),
            send_credential(ctx, route, &value).await,
        ));
        last = Some(payment);
    }
    let graded = grade(&answers);
    if graded.status == crate::catalogue::Status::Fail {
        return graded;
    }
    let Some(payment) = last else {
        return graded;
    };
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

fn halves(text: &str) -> (&str, &str) {
    text.split_at(text.len() / 2)
}

async fn control_characters(ctx: &Ctx) -> Outcome {
    let variants: [Variant; 2] = [
        ("a tab inside the token", |t, p| {
            let (a, b) = halves(t);
            format!("L402 {a}\t{b}:{p}")
        }),
        ("a tab inside the preimage", |t, p| {
            let (a, b) = halves(p);
            format!("L402 {t}:{a}\t{b}")
        }),
    ];
    variants_refused(ctx, &variants, all_refused).await
}

/// Every answer a refusal (any 4xx, a 402 with a challenge as the older text asks or a
/// 401): pass; served: fail (a SHOULD); 5xx or no answer: fail.
fn refused_somehow(answers: &[(String, crate::target::Exchange)]) -> Outcome {
    for (what, ex) in answers {
        if ex.error.is_some() || ex.is_success() || ex.status >= 500 {
            return Outcome::fail(format!("{what} refused"), ex.describe()).with(ex);
        }
    }
    Outcome::pass(format!("{} refused", answers.len()))
}

async fn extra_colons(ctx: &Ctx) -> Outcome {
    let variants: [Variant; 2] = [
        ("a doubled colon", |t, p| format!("L402 {t}::{p}")),
        ("a colon inside the token", |t, p| {
            let (a, b) = halves(t);
            format!("L402 {a}:{b}:{p}")
        }),
    ];
    variants_refused(ctx, &variants, refused_somehow).await
}
