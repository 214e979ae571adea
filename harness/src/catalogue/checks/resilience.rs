//! resilience: with the facilitator failing in each way, nothing unpaid is ever served.

use super::{Faults, Spec, add, body, facilitator, settlements, valid_payment};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::{Dialect, Mode, decode_header};

/// Each fault, with the check name and what it simulates.
const FAULTS: &[(&str, &str, &str)] = &[
    ("verify-error", "verify=status:500", "/verify answers 500"),
    ("verify-hang", "verify=hang", "/verify never answers"),
    ("settle-error", "settle=status:503", "/settle answers 503"),
    (
        "settle-html",
        "settle=html502",
        "/settle answers an HTML 502 page",
    ),
    (
        "settle-garbage",
        "settle=non-json",
        "/settle answers something that is not JSON",
    ),
    (
        "settle-truncated",
        "settle=truncated",
        "/settle answers truncated JSON",
    ),
    (
        "settle-failure",
        "settle=settle-failure",
        "/settle answers success: false",
    ),
    (
        "settle-pending",
        "settle=pending",
        "/settle answers that settlement is pending",
    ),
    ("settle-hang", "settle=hang", "/settle never answers"),
];

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    for (name, rule, what) in FAULTS {
        let spec = Spec {
            section: "resilience",
            name: (*name).into(),
            title: format!("nothing is served when {what}"),
            level: Level::Must,
            requirement: "The resource is served only after the payment was verified and settled successfully; a failed, pending or unanswered facilitator call never serves it.",
            source: "x402-specification-v2.md §2 (steps 4-6); transports-v2/http.md error handling",
            needs: &[Need::Facilitator],
        };
        add(
            out,
            d,
            spec,
            body(move |ctx: &Ctx| Box::pin(async move { not_served_under(ctx, rule).await })),
        );
    }
}

async fn not_served_under(ctx: &Ctx, rule: &'static str) -> Outcome {
    let (_, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ex = {
        let _faults = Faults::set(facilitator(ctx), &[rule]);
        ctx.target
            .send(&ctx.target.paid[0], Some(&payment.value), &[])
            .await
    };
    if let Some(e) = &ex.error {
        return Outcome::fail("an answer within the timeout", format!("no answer ({e})")).with(&ex);
    }
    let receipt_success = ex
        .header(ctx.target.dialect.response_header())
        .and_then(|h| {
            decode_header::<SettlementResponse>(ctx.target.dialect, Mode::Lenient, h).ok()
        })
        .is_some_and(|r| r.value.success);
    if ex.is_success() || receipt_success {
        return Outcome::fail(
            "the resource withheld",
            format!("{} with the resource", ex.describe()),
        )
        .with(&ex);
    }
    if let Some(n @ 1..) = settlements(ctx, &payment.nonce) {
        return Outcome::fail(
            "no settlement under the fault",
            format!("{n} settlement(s)"),
        )
        .with(&ex);
    }
    Outcome::pass(format!("withheld with {}", ex.describe()))
}
