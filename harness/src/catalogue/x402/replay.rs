//! replay: a settled payment is never accepted again, interleaved or raced (the sequential
//! case is the scenario file `scenarios/x402/replay-sequential.toml`).

use super::{Faults, Spec, add, body, facilitator, pay, valid_payment};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::Dialect;

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, requirement| {
        Spec::new(
            "replay",
            name,
            title,
            Level::Must,
            requirement,
            "x402-specification-v2.md §10.1 (nonce uniqueness); scheme_exact_svm.md duplicate settlement",
            &[Need::Facilitator],
        )
    };
    add(
        out,
        d,
        s(
            "interleaved",
            "a settled payment replayed after another payment is refused",
            "A payment that was settled is not accepted again, also after other payments.",
        ),
        body(|ctx: &Ctx| Box::pin(async move { interleaved(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "concurrent",
            "eight concurrent copies of one payment succeed at most once",
            "Concurrent copies of one payment are served and settled at most once.",
        ),
        body(|ctx: &Ctx| Box::pin(async move { concurrent(ctx).await })),
    );
}

async fn interleaved(ctx: &Ctx) -> Outcome {
    let (challenge, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let route = &ctx.target.paid[0];
    let first = ctx.target.send(route, Some(&payment.value), &[]).await;
    if !first.is_success() {
        return Outcome::not_exercised(format!(
            "the first payment was not served ({})",
            first.describe()
        ))
        .with(&first);
    }
    let other = match pay(ctx, &challenge, None) {
        Ok(p) => p,
        Err(o) => return o,
    };
    ctx.target.send(route, Some(&other.value), &[]).await;
    // The same authorization under a fresh id: the same id would rightly get the cached
    // answer (payment-id/cached-response grades that).
    let replay = ctx
        .target
        .send(route, Some(&payment.replayed().value), &[])
        .await;
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    if replay.is_success() || settled != 1 {
        Outcome::fail(
            "the replay refused and one settlement",
            format!("{}, {settled} settlement(s)", replay.describe()),
        )
        .with(&replay)
    } else {
        Outcome::pass(format!("replay refused with {}", replay.describe()))
    }
}

async fn concurrent(ctx: &Ctx) -> Outcome {
    let (_, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let route = &ctx.target.paid[0];
    // A slow /settle widens the race window, as a real chain does: every copy arrives
    // while the first settlement is still in flight.
    let _slow = Faults::set(facilitator(ctx), &["settle=latency:200ms"]);
    // Each copy under its own payment-identifier id (payment-id/concurrent races one id).
    let values: Vec<String> = (0..8).map(|_| payment.replayed().value).collect();
    let copies = values.iter().map(|v| ctx.target.send(route, Some(v), &[]));
    let results = futures::future::join_all(copies).await;
    let served: Vec<_> = results.iter().filter(|e| e.is_success()).collect();
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    // More settlements than copies served: a payer charged for nothing.
    if served.len() <= 1 && settled <= 1 && settled <= served.len() {
        if served.is_empty() {
            return Outcome::not_exercised("no copy was served; the payment itself may be refused");
        }
        Outcome::pass("one copy served, one settlement")
    } else {
        let mut o = Outcome::fail(
            "at most one copy served, and settled no more often than served",
            format!("{} served, {settled} settlement(s)", served.len()),
        );
        for e in served.into_iter().take(2) {
            o = o.with(e);
        }
        o
    }
}
