//! binding: a payment is bound to the route and the offer it was made for.

use super::{Spec, add, body, offer, pay, settlements};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::Dialect;
use crate::protocol::v2::PaymentRequirements;
use crate::target::Challenge;

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    add(
        out,
        d,
        Spec {
            section: "binding",
            name: "cheaper-route".into(),
            title: "a cheaper route's payment is refused on a dearer route".into(),
            level: Level::Must,
            requirement: "A payment is accepted only for requirements the server offers for the requested resource.",
            source: "x402-specification-v2.md §5.2.2 (accepted), §6.1.2 (3)",
            needs: &[Need::TwoPrices],
        },
        body(|ctx: &Ctx| Box::pin(async move { cheaper_route(ctx).await })),
    );
    add(
        out,
        d,
        Spec {
            section: "binding",
            name: "edited-amount".into(),
            title: "a payment for an edited, smaller amount is refused".into(),
            level: Level::Must,
            requirement: "The server checks a payment against its own requirements, not against the copy the client sends back.",
            source: "x402-specification-v2.md §5.2.2, §6.1.2 (3)",
            needs: &[],
        },
        body(|ctx: &Ctx| Box::pin(async move { edited_amount(ctx).await })),
    );
    // v1 payloads carry no copy of the offer: the server sends its own requirements.
    if !d.is_v1() {
        add(
            out,
            d,
            Spec {
                section: "binding",
                name: "accepted-fields".into(),
                title: "every field of accepted is bound to the route's offer".into(),
                level: Level::Must,
                requirement: "A payment whose accepted differs from the route's offer in payTo, asset, network, maxTimeoutSeconds or extra (the EIP-712 name and version), though signed for what it says, is refused and never settled: the server checks accepted against its own offer, not only the amount.",
                source: "x402-specification-v2.md §5.2.2 (accepted), §6.1.2 (3); x402 TS and Python servers (deepEqual of accepted)",
                needs: &[],
            },
            body(|ctx: &Ctx| Box::pin(async move { accepted_fields(ctx).await })),
        );
    }
}

/// One rewrite of the offer a dishonest client signs for, with what it changes.
type Rewrite = (&'static str, fn(&mut PaymentRequirements));

/// The rewrite that moves no money wrongly: a server that sends its own requirements to
/// the facilitator serves it (nothing bounds `validBefore` by the offer's timeout), so it
/// is graded as the letter against the reference SDKs, which deep-compare `accepted`.
const LENIENT_FIELD: &str = "maxTimeoutSeconds";

/// Every rewrite of `accepted` that keeps the amount: the server must notice each.
const REWRITES: &[Rewrite] = &[
    ("payTo", |a| {
        a.pay_to = "0x00000000000000000000000000000000000bad00".into()
    }),
    ("asset", |a| {
        a.asset = "0x0000000000000000000000000000000000000bad".into()
    }),
    ("network", |a| {
        a.network = if a.network == "eip155:43113" {
            "eip155:84532".into()
        } else {
            "eip155:43113".into()
        }
    }),
    ("maxTimeoutSeconds", |a| {
        a.max_timeout_seconds = a.max_timeout_seconds.saturating_mul(100).max(86_400)
    }),
    ("extra (EIP-712 name and version)", |a| {
        a.extra = Some(serde_json::json!({"name": "Paycheck Fake USD", "version": "9"}))
    }),
];

async fn accepted_fields(ctx: &Ctx) -> Outcome {
    let route = &ctx.target.paid[0];
    let (challenge, _) = match offer(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let Challenge::V2(required) = &challenge else {
        return Outcome::not_exercised("not an x402 v2 offer");
    };
    if required.accepts.is_empty() {
        return Outcome::not_exercised("the offer lists no accepts");
    }
    let mut refused = Vec::new();
    let mut lenient = None;
    for (field, rewrite) in REWRITES {
        let mut edited = required.clone();
        rewrite(&mut edited.accepts[0]);
        let payment = match pay(ctx, &Challenge::V2(edited), None) {
            Ok(p) => p,
            Err(o) => return o,
        };
        let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
        let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
        let taken = ex.is_success() || settled > 0;
        if taken && *field == LENIENT_FIELD {
            lenient.get_or_insert(ex);
            continue;
        }
        if taken {
            return Outcome::fail(
                format!("a payment whose accepted has another {field} refused"),
                format!("{}, settled {settled} time(s)", ex.describe()),
            )
            .with(&ex);
        }
        refused.push(*field);
    }
    match lenient {
        Some(ex) => Outcome::lenient(
            format!("a payment whose accepted has another {LENIENT_FIELD} refused"),
            format!(
                "{} (every other rewrite was refused; the TS and Python SDKs deep-compare accepted)",
                ex.describe()
            ),
        )
        .with(&ex),
        None => Outcome::pass(format!(
            "refused with each of {} rewritten",
            refused.join(", ")
        )),
    }
}

async fn cheaper_route(ctx: &Ctx) -> Outcome {
    let mut priced = Vec::new();
    for route in &ctx.target.paid {
        match offer(ctx, route).await {
            Ok((c, _)) => priced.push((c.first_amount().unwrap_or(0), route, c)),
            Err(o) => return o,
        }
    }
    priced.sort_by_key(|(amount, _, _)| *amount);
    let (Some((low, _, cheap)), Some((high, dear_route, _))) = (priced.first(), priced.last())
    else {
        return Outcome::unsupported("needs two paid routes");
    };
    if low == high {
        return Outcome::unsupported(
            "the paid routes have the same price; name two with different prices",
        );
    }
    let payment = match pay(ctx, cheap, None) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let ex = ctx.target.send(dear_route, Some(&payment.value), &[]).await;
    let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
    if ex.is_success() || settled > 0 {
        Outcome::fail(
            format!("the {low}-unit payment refused on {dear_route} ({high} units)"),
            format!("{}, settled {settled} time(s)", ex.describe()),
        )
        .with(&ex)
    } else {
        Outcome::pass(format!("refused with {}", ex.describe()))
    }
}

async fn edited_amount(ctx: &Ctx) -> Outcome {
    let route = &ctx.target.paid[0];
    let (mut challenge, _) = match offer(ctx, route).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    match &mut challenge {
        Challenge::V2(r) => match r.accepts.first_mut() {
            Some(a) => a.amount = "1".into(),
            None => return Outcome::not_exercised("no offer"),
        },
        Challenge::V1(r) => match r.accepts.first_mut() {
            Some(a) => a.max_amount_required = "1".into(),
            None => return Outcome::not_exercised("no offer"),
        },
        Challenge::L402(_) => return Outcome::not_exercised("not an x402 offer"),
    }
    let payment = match pay(ctx, &challenge, None) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
    let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
    if ex.is_success() || settled > 0 {
        Outcome::fail(
            "the 1-unit payment refused",
            format!("{}, settled {settled} time(s)", ex.describe()),
        )
        .with(&ex)
    } else {
        Outcome::pass(format!("refused with {}", ex.describe()))
    }
}
