//! rejection: each kind of wrong payment is refused with a 402 and never settled.

use super::{Spec, add, body, offer, paid, pay, settlements};
use crate::catalogue::{Check, Ctx, Level, Outcome};
use crate::payer::WrongPayment;
use crate::protocol::Dialect;

/// The rule each wrong payment breaks, and where it is written.
fn rule(w: &WrongPayment) -> (&'static str, &'static str) {
    match w {
        WrongPayment::WrongSigner | WrongPayment::BadSignature => (
            "A payment whose signature does not recover to authorization.from is refused.",
            "x402-specification-v2.md §6.1.2 (1); scheme_exact_evm.md Phase 2",
        ),
        WrongPayment::Underpaid | WrongPayment::Overpaid => (
            "A payment whose value is not exactly the required amount is refused.",
            "x402-specification-v2.md §6.1.2 (3)",
        ),
        WrongPayment::WrongPayTo => (
            "A payment to another recipient than payTo is refused.",
            "x402-specification-v2.md §6.1.2 (5)",
        ),
        WrongPayment::WrongNetwork | WrongPayment::WrongAsset => (
            "A payment on another network or in another token than offered is refused.",
            "x402-specification-v2.md §6.1.2 (4)",
        ),
        WrongPayment::Expired | WrongPayment::NotYetValid | WrongPayment::Window { .. } => (
            "A payment outside its validAfter/validBefore window is refused.",
            "x402-specification-v2.md §6.1.2 (3), §10.1",
        ),
        WrongPayment::ReusedNonce(_) => (
            "A reused nonce is refused.",
            "x402-specification-v2.md §10.1",
        ),
    }
}

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    for wrong in WrongPayment::SIMPLE {
        let (requirement, source) = rule(&wrong);
        let spec = Spec {
            section: "rejection",
            name: wrong.name().into(),
            title: format!("a payment {} is refused", wrong.describe()),
            level: Level::Must,
            requirement,
            source,
            needs: &[],
        };
        add(
            out,
            d,
            spec,
            body(move |ctx: &Ctx| {
                let wrong = wrong.clone();
                Box::pin(async move { refused(ctx, &wrong).await })
            }),
        );
    }
    add(
        out,
        d,
        Spec {
            section: "rejection",
            name: "reason-given".into(),
            title: "a refusal says why".into(),
            level: Level::BestPractice,
            requirement: "A refused payment gets a 402 whose error names the reason.",
            source: "x402-specification-v2.md §5.1.2 (error), §9 (reason codes)",
            needs: &[],
        },
        body(|ctx: &Ctx| Box::pin(async move { reason_given(ctx).await })),
    );
}

async fn refused(ctx: &Ctx, wrong: &WrongPayment) -> Outcome {
    let route = paid(ctx);
    let (challenge, _) = match offer(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let payment = match pay(ctx, &challenge, Some(wrong)) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
    if let Some(n @ 1..) = settlements(ctx, &payment.nonce) {
        return Outcome::fail("no settlement", format!("settled {n} time(s)")).with(&ex);
    }
    match ex.status {
        402 => Outcome::pass("refused with 402"),
        400..=499 => Outcome::lenient("402 (payment verification failed)", ex.describe()).with(&ex),
        _ => Outcome::fail("402", ex.describe()).with(&ex),
    }
}

async fn reason_given(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let (challenge, _) = match offer(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let payment = match pay(ctx, &challenge, Some(&WrongPayment::Underpaid)) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
    if ex.status != 402 {
        return Outcome::not_exercised(format!("the underpayment got {}", ex.describe())).with(&ex);
    }
    match ctx
        .target
        .read_challenge(&ex, crate::protocol::Mode::Lenient)
    {
        Ok(c) => match c.error() {
            Some(e) if !e.trim().is_empty() => Outcome::pass(format!("error: {e}")),
            _ => Outcome::fail("an error naming the reason", "no error").with(&ex),
        },
        Err(e) => Outcome::fail("a 402 with requirements and an error", e.to_string()).with(&ex),
    }
}
