//! replay: by the specification a paid credential is reusable until it expires (the
//! `l402` profile: `replay/reusable`, a scenario file); a server that declares credentials
//! single-use (`l402-single-use`) refuses a used one, also re-encoded and among concurrent
//! copies (`replay/sequential` is a scenario file).

use super::{all_refused, paid, paid_credential, send_credential};
use crate::catalogue::spec::{Spec, add, body};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::codec::encode_base64;
use crate::protocol::l402::{Token, format_credential};
use crate::protocol::{L402Profile, Suite};
use base64::Engine as _;

/// How many concurrent copies of one credential the `concurrent` check sends.
const COPIES: usize = 8;

pub(super) fn register(profile: L402Profile, out: &mut Vec<Check>) {
    if profile != L402Profile::SingleUse {
        return;
    }
    let suite = Suite::L402(profile);
    let s = |name: &str, title: &str, requirement| {
        Spec::new(
            "replay",
            name,
            title,
            Level::Must,
            requirement,
            "l402-single-use profile: l402-kit's replay protection (docs/guides/security.mdx checklist); protocols.md §7.3",
            &[Need::Lightning],
        )
    };
    add(
        out,
        suite,
        s(
            "re-encoded",
            "a used credential re-encoded is still refused",
            "A single-use server keys its record of used credentials on the payment, not the text: the used credential with the preimage in upper case, the scheme written otherwise, or the token re-encoded is refused.",
        ),
        body(|ctx| Box::pin(re_encoded(ctx))),
    );
    add(
        out,
        suite,
        s(
            "concurrent",
            "concurrent copies of a fresh credential succeed at most once",
            "Eight concurrent copies of one paid, unused credential are served at most once.",
        ),
        body(|ctx| Box::pin(concurrent(ctx))),
    );
}

async fn re_encoded(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (_, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let first = send_credential(ctx, route, &payment.credential).await;
    if !first.is_success() {
        return Outcome::not_exercised(format!(
            "the paid credential was not accepted the first time ({})",
            first.describe()
        ))
        .with(&first);
    }
    let (t, p) = (payment.token.as_str(), payment.preimage_hex.as_str());
    let mut variants = vec![
        (
            "the preimage in upper case",
            format_credential("L402", t, &p.to_uppercase()),
        ),
        ("the LSAT scheme", format_credential("LSAT", t, p)),
        ("the scheme in lower case", format_credential("l402", t, p)),
    ];
    if let Ok(token) = Token::read(t) {
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&token.bytes);
        if url_safe != t {
            variants.push((
                "the token in URL-safe base64",
                format_credential("L402", &url_safe, p),
            ));
        }
        let padded = encode_base64(&token.bytes);
        if padded != t {
            variants.push((
                "the token in padded standard base64",
                format_credential("L402", &padded, p),
            ));
        }
    }
    let mut answers = Vec::new();
    for (what, value) in variants {
        answers.push((
            format!("the used credential with {what}"),
            send_credential(ctx, route, &value).await,
        ));
    }
    all_refused(&answers)
}

async fn concurrent(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (_, payment) = match paid_credential(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    // A slow backend widens the race window, as a real node does: a server that asks its
    // backend between reading and writing its record lets every copy through.
    let lightning = ctx.lightning.as_deref().expect("the runner checks needs");
    lightning
        .faults()
        .set(vec!["lookup=latency:200ms".parse().expect("a valid rule")]);
    let copies = (0..COPIES).map(|_| send_credential(ctx, route, &payment.credential));
    let results = futures::future::join_all(copies).await;
    lightning.faults().clear();
    let served: Vec<_> = results.iter().filter(|e| e.is_success()).collect();
    match served.len() {
        0 => Outcome::not_exercised("no copy was served; the credential itself may be refused")
            .with(&results[0]),
        1 => Outcome::pass(format!("one of {COPIES} copies served")),
        n => {
            let mut o = Outcome::fail("at most one copy served", format!("{n} of {COPIES} served"));
            for e in served.into_iter().take(2) {
                o = o.with(e);
            }
            o
        }
    }
}
