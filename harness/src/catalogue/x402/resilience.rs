//! resilience: with the facilitator failing in each way, nothing unpaid is ever served.

use super::{
    Faults, Spec, add, body, facilitator, paid, pay_first_route, settlements, valid_payment,
};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::{Dialect, Mode, decode_header};
use crate::target::tally::tolerating_no_answer;
use crate::target::{Challenge, Exchange};

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
    let spec = Spec {
        section: "resilience",
        name: "bounded-answer".into(),
        title: "the server answers when the facilitator hangs".into(),
        level: Level::BestPractice,
        requirement: "When /verify never answers, the server gives up on it and answers the client within the hang window (--hang-window, default 30 s), so clients are not left hanging.",
        source: "operations practice (a timeout on facilitator calls)",
        needs: &[Need::Facilitator],
    };
    add(
        out,
        d,
        spec,
        body(|ctx: &Ctx| Box::pin(async move { bounded_answer(ctx).await })),
    );
    let spec = Spec {
        section: "resilience",
        name: "failure-receipt".into(),
        title: "a failed settlement's 402 carries the failed receipt".into(),
        level: Level::Should,
        requirement: "When settlement fails, the 402 carries the settlement response with success: false and an errorReason, so the client knows it was not charged.",
        source: if d.is_v1() {
            "x402 transports-v1/http.md (settlement failure example)"
        } else {
            "x402 transports-v2/http.md (settlement failure example)"
        },
        needs: &[Need::Facilitator],
    };
    add(
        out,
        d,
        spec,
        body(|ctx: &Ctx| Box::pin(async move { failure_receipt(ctx).await })),
    );
    let spec = Spec {
        section: "resilience",
        name: "pending-no-challenge".into(),
        title: "a pending settlement gets no fresh 402 challenge".into(),
        level: Level::Should,
        requirement: "While /settle says the settlement is pending (settlement_pending, with its transaction), the server serves nothing and does not answer 402, a fresh challenge which a client would pay a second time.",
        source: "x402-foundation/x402#3325 (open: settlement status vocabulary); aws-samples/sample-agentcore-cloudfront-x402-payments#40 (landscape.md §3)",
        needs: &[Need::Facilitator],
    };
    add(
        out,
        d,
        spec,
        body(|ctx: &Ctx| Box::pin(async move { pending_no_challenge(ctx).await })),
    );
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

/// The hang as it applies to `challenge`'s flow: an upfront offer calls no `/verify`, so
/// its first facilitator call is `/settle`.
fn first_call_hangs(challenge: &Challenge) -> &'static str {
    if challenge.is_upfront() {
        "settle=hang"
    } else {
        "verify=hang"
    }
}

async fn not_served_under(ctx: &Ctx, rule: &'static str) -> Outcome {
    let (challenge, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    if rule.starts_with("verify=") && challenge.is_upfront() {
        // The same fault on /settle is the settle-* check's: one cause, one failure.
        return Outcome::unsupported(
            "the offer declares the upfront flow, which calls no /verify (the settle-* checks grade its facilitator faults)",
        );
    }
    let ex = {
        let _faults = Faults::set(facilitator(ctx), &[rule]);
        // Under a hanging facilitator the server may hang too: that serves nothing, and
        // this check grades what was served and settled, so silence is no broken answer.
        tolerating_no_answer(ctx.target.send(paid(ctx), Some(&payment.value), &[])).await
    };
    if let Some(status @ 200..=299) = ex.head_status {
        // The answer broke off, but it had begun as a success: the resource was on its way.
        return Outcome::fail(
            "the resource withheld",
            format!("HTTP {status} began to serve it ({})", ex.describe()),
        )
        .with(&ex);
    }
    if let Some(e) = &ex.error {
        // No answer within --timeout serves nothing; whether the server answers in time is
        // resilience/bounded-answer's question.
        return match settlements(ctx, &payment.nonce) {
            Some(n @ 1..) => Outcome::fail(
                "no settlement under the fault",
                format!("{n} settlement(s)"),
            )
            .with(&ex),
            _ => Outcome::pass(format!(
                "nothing served or settled (no answer within the timeout: {e})"
            )),
        };
    }
    let receipt_success = ex
        .header(ctx.target.dialect().response_header())
        .and_then(|h| {
            decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, h).ok()
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

/// Pays the first paid route validly while the facilitator follows `rule`.
async fn paid_under(ctx: &Ctx, rule: &str) -> Result<Exchange, Outcome> {
    let _faults = Faults::set(facilitator(ctx), &[rule]);
    pay_first_route(ctx).await.map(|(_, ex)| ex)
}

async fn pending_no_challenge(ctx: &Ctx) -> Outcome {
    let ex = match paid_under(ctx, "settle=pending").await {
        Ok(ex) => ex,
        Err(o) => return o,
    };
    if ex.is_success() {
        return Outcome::not_exercised(
            "the payment was served while its settlement was pending (see resilience/settle-pending)",
        )
        .with(&ex);
    }
    if ex.status == 402 {
        // 402 tells the client to pay: with or without requirements attached, a client
        // (or its retry logic) pays again for a payment already on its way to the chain.
        let with = if ctx.target.read_challenge(&ex, Mode::Lenient).is_ok() {
            "a 402 with fresh payment requirements"
        } else {
            "a 402 (payment required), though without requirements"
        };
        return Outcome::fail(
            "no 402 while the settlement is pending (a 5xx or 202 naming the transaction)",
            format!("{with}: a client would pay again for the same request"),
        )
        .with(&ex);
    }
    let names_transaction = ex
        .header(ctx.target.dialect().response_header())
        .and_then(|h| {
            decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, h).ok()
        })
        .is_some_and(|r| !r.value.transaction.is_empty());
    Outcome::pass(format!(
        "{} without a challenge{}",
        ex.describe(),
        if names_transaction {
            ", the receipt naming the transaction"
        } else {
            ""
        }
    ))
}

async fn failure_receipt(ctx: &Ctx) -> Outcome {
    let ex = match paid_under(ctx, "settle=settle-failure").await {
        Ok(ex) => ex,
        Err(o) => return o,
    };
    if ex.is_success() {
        return Outcome::not_exercised(
            "the payment was served although settlement failed (see resilience/settle-failure)",
        )
        .with(&ex);
    }
    let name = ctx.target.dialect().response_header();
    let Some(header) = ex.header(name) else {
        return Outcome::fail(
            format!("a {name} header with success: false"),
            format!("{}, no {name}", ex.describe()),
        )
        .with(&ex);
    };
    match decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, header) {
        Ok(r) if !r.value.success && r.value.error_reason.is_some() => Outcome::pass(format!(
            "{} with errorReason {}",
            ex.describe(),
            r.value.error_reason.unwrap_or_default()
        )),
        Ok(r) => Outcome::fail(
            "success: false with an errorReason",
            format!(
                "success: {}, errorReason: {:?}",
                r.value.success, r.value.error_reason
            ),
        )
        .with(&ex),
        Err(e) => Outcome::fail(format!("a decodable {name}"), e.to_string()).with(&ex),
    }
}

async fn bounded_answer(ctx: &Ctx) -> Outcome {
    let (challenge, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ex = {
        let _faults = Faults::set(facilitator(ctx), &[first_call_hangs(&challenge)]);
        ctx.target
            .send_hanging(paid(ctx), Some(&payment.value))
            .await
    };
    let took = ex.elapsed.as_millis();
    match &ex.error {
        None => Outcome::pass(format!("{} after {took} ms", ex.describe())),
        Some(e) => Outcome::fail(
            format!(
                "an answer within the hang window ({} s)",
                ctx.target.hang_window.as_secs()
            ),
            format!(
                "no answer after {took} ms ({e}); give facilitator calls a timeout, or raise --hang-window"
            ),
        )
        .with(&ex),
    }
}
