//! payment: a valid payment is served with a settlement receipt (the verify-then-settle
//! order is the scenario file `scenarios/x402/payment-verify-then-settle.toml`).

use super::{
    Spec, add, body, offer, paid, pay, pay_first_route, served_payment, settlements, transport,
    valid_payment_for,
};
use crate::catalogue::{Check, CheckFuture, Ctx, Level, Need, Outcome};
use crate::mocks::facilitator::journal::{Endpoint, Verdict};
use crate::payer::WrongPayment;
use crate::protocol::codec::is_encoding;
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::{Dialect, Mode, decode_header};
use crate::target::{Challenge, Exchange, PaymentHeader, RouteSpec};

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    add(
        out,
        d,
        Spec {
            section: "payment",
            name: "facilitator-request".into(),
            title: "the server's requests to the facilitator are well-formed".into(),
            level: Level::Must,
            requirement: "POST /verify and /settle carry {x402Version, paymentPayload, paymentRequirements} with the payload as received and the server's own requirements.",
            source: "x402-specification-v2.md §7.1, §7.2",
            needs: &[Need::Facilitator],
        },
        body(|ctx: &Ctx| Box::pin(async move { facilitator_request(ctx).await })),
    );
    let s = |name: &str, title: &str, level, requirement, source, needs| {
        Spec::new("payment", name, title, level, requirement, source, needs)
    };
    add(
        out,
        d,
        s(
            "served",
            "a valid payment is served with a successful receipt",
            Level::Must,
            "A successful paid request gets 200 with the settlement response (success: true) in the payment response header.",
            transport(d),
            &[Need::Facilitator],
        ),
        body(served),
    );
    add(
        out,
        d,
        s(
            "settle-only-verified",
            "a payment verify refused is never sent to settle",
            Level::Must,
            "The server settles only a payment the facilitator verified: a payment /verify answered isValid: false never reaches /settle, whatever the HTTP status of that answer.",
            "x402-specification-v2.md §2 (steps 4-6), §7.1; x402-foundation/x402#3060 (landscape.md §3)",
            &[Need::Facilitator],
        ),
        body(settle_only_verified),
    );
    add(
        out,
        d,
        s(
            "receipt-encoding",
            "the receipt is padded standard base64 of compact JSON",
            Level::Should,
            "The settlement response header uses the standard base64 alphabet with padding, around compact JSON, as the specification's examples and the TypeScript, Go and Rust SDKs write it (the Python SDK writes JSON with spaces).",
            "x402 transports-v2/http.md examples; protocols.md §1.1",
            &[Need::Facilitator],
        ),
        body(receipt_encoding),
    );
    add(
        out,
        d,
        s(
            "verify-before-work",
            "an invalid payment never reaches the handler",
            Level::Must,
            "The server verifies a payment before it runs the protected handler: an invalid payment on a request whose handler fails gets a 402, not the handler's error, and is never settled.",
            "x402-specification-v2.md §2 (steps 4-6: verify, then do the work); extra.paymentFlow authorization (x402-foundation/x402#3053)",
            &[Need::FailingRoute],
        ),
        body(verify_before_work),
    );
    add(
        out,
        d,
        s(
            "no-settle-on-handler-failure",
            "charged only when served: a failing handler's payment is not settled",
            Level::Must,
            "When the protected handler fails, the payment is not settled and the client is not charged: a payer is charged only for an answer that served the resource. An offer that declares extra.paymentFlow upfront is settled once before the handler runs, and a failing handler after it is the flow's documented behaviour.",
            "extra.paymentFlow authorization (x402-foundation/x402#3053); x402 reference middleware (TS express settles only after a successful handler)",
            &[Need::Facilitator, Need::FailingRoute],
        ),
        body(no_settle_on_failure),
    );
    add(
        out,
        d,
        s(
            "handler-status-kept",
            "a handler's 201 or 202 survives payment",
            Level::Should,
            "A paid request whose handler answers 201 Created or 202 Accepted gets that status, with a successful receipt: payment does not rewrite the handler's status.",
            "extra.paymentFlow (x402-foundation/x402#3053: a 201/202 from the handler survives payment); x402-conformance R22",
            &[Need::Facilitator, Need::QueuedRoute],
        ),
        body(handler_status_kept),
    );
    add(
        out,
        d,
        s(
            "not-publicly-cacheable",
            "a paid answer is not publicly cacheable",
            Level::BestPractice,
            "A paid response is marked no-store or private, so a shared cache never serves it to someone who did not pay.",
            "operations practice (x402-conformance R17)",
            &[Need::Facilitator],
        ),
        body(not_cacheable),
    );
}

fn served(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (_, ex) = match pay_first_route(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        if !ex.is_success() {
            return Outcome::fail("2xx for a valid payment", ex.describe()).with(&ex);
        }
        let name = ctx.target.dialect().response_header();
        let Some(receipt) = ex.header(name) else {
            return Outcome::fail(format!("a {name} header"), "none").with(&ex);
        };
        // How the receipt is encoded is receipt-encoding's question; this one asks what
        // it says.
        match decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, receipt) {
            Ok(r) if !r.value.success => {
                Outcome::fail("success: true in the receipt", "success: false").with(&ex)
            }
            Ok(r) => {
                let shape: Vec<String> = r
                    .deviations
                    .iter()
                    .filter(|d| !is_encoding(d.rule))
                    .map(ToString::to_string)
                    .collect();
                if shape.is_empty() {
                    Outcome::pass(format!("served with transaction {}", r.value.transaction))
                } else {
                    Outcome::fail("a well-formed settlement response", shape.join("; ")).with(&ex)
                }
            }
            Err(e) => Outcome::fail("a well-formed settlement response", e.to_string()).with(&ex),
        }
    })
}

/// Wrong payments the reference servers send to `/verify` (nothing in them shows locally).
const VERIFY_REFUSES: [WrongPayment; 2] = [WrongPayment::BadSignature, WrongPayment::Expired];

fn settle_only_verified(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let journal = super::facilitator(ctx).journal();
        let (challenge, _) = match offer(ctx, paid(ctx)).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let mut followed = 0;
        for wrong in VERIFY_REFUSES {
            let payment = match pay(ctx, &challenge, Some(&wrong)) {
                Ok(p) => p,
                Err(o) => return o,
            };
            let mark = journal.len();
            let ex = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
            let calls = journal.since(mark);
            let of_it = |endpoint| {
                calls
                    .iter()
                    .filter(move |c| c.endpoint == endpoint)
                    .filter(|c| c.nonce.as_deref() == Some(payment.nonce.as_str()))
            };
            let refused = of_it(Endpoint::Verify).find_map(|c| match &c.verdict {
                Verdict::Invalid { reason } => Some(reason.clone()),
                _ => None,
            });
            // A server that never asked /verify is payment/verify-then-settle's to grade.
            let Some(reason) = refused else { continue };
            followed += 1;
            let settles = of_it(Endpoint::Settle).count();
            if settles > 0 {
                return Outcome::fail(
                    format!(
                        "no /settle for a payment {} that /verify refused",
                        wrong.describe()
                    ),
                    format!(
                        "/verify said {reason}, then {settles} /settle call(s); answered {}",
                        ex.describe()
                    ),
                )
                .with(&ex);
            }
        }
        Outcome::pass(if followed == 0 {
            "the server refused both wrong payments without asking /verify, and settled neither"
                .to_string()
        } else {
            format!("{followed} payment(s) /verify refused never reached /settle")
        })
    })
}

fn receipt_encoding(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (_, ex) = match pay_first_route(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let name = ctx.target.dialect().response_header();
        let Some(receipt) = ex.header(name) else {
            return Outcome::not_exercised(format!(
                "the valid payment got no {name} header ({})",
                ex.describe()
            ))
            .with(&ex);
        };
        match decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, receipt) {
            Ok(r) => {
                let found: Vec<String> = r
                    .deviations
                    .iter()
                    .filter(|d| is_encoding(d.rule))
                    .map(ToString::to_string)
                    .collect();
                if found.is_empty() {
                    Outcome::pass("padded standard base64 of compact JSON")
                } else {
                    Outcome::fail("padded standard base64 of compact JSON", found.join("; "))
                        .with(&ex)
                }
            }
            Err(e) => Outcome::not_exercised(format!(
                "the receipt does not decode ({e}); payment/served grades that"
            ))
            .with(&ex),
        }
    })
}

/// The `--failing` request paid validly: its offer, the payment and the answer, which must
/// be the handler's own failure (not a success, not a refusal of the payment).
async fn failing_route_paid(
    ctx: &Ctx,
) -> Result<(&RouteSpec, Challenge, PaymentHeader, Exchange), Outcome> {
    let route = ctx
        .target
        .failing
        .as_ref()
        .expect("the runner checks needs");
    let (challenge, payment) = valid_payment_for(ctx, route).await?;
    let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
    if ex.is_success() || !ex.answered() || ex.status == 402 {
        return Err(Outcome::not_exercised(format!(
            "{route} with a valid payment did not fail in its handler ({}); name a request whose handler fails",
            ex.describe()
        ))
        .with(&ex));
    }
    Ok((route, challenge, payment, ex))
}

fn no_settle_on_failure(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (_, challenge, payment, ex) = match failing_route_paid(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        if challenge.is_upfront() {
            // The offer's own rules: settle once, then run the handler, whatever it answers.
            return match settlements(ctx, &payment.nonce) {
                Some(1) => Outcome::pass(format!(
                    "upfront flow, as the offer declares: settled once before the handler, which answered {}",
                    ex.describe()
                )),
                Some(0) => Outcome::pass(format!(
                    "upfront flow: refused before settling, charged nothing ({})",
                    ex.describe()
                )),
                Some(n) => Outcome::fail(
                    "the upfront flow's one settlement before the handler",
                    format!("{n} settlement(s) while answering {}", ex.describe()),
                )
                .with(&ex),
                None => Outcome::unsupported("needs the facilitator journal"),
            };
        }
        match settlements(ctx, &payment.nonce) {
            Some(0) => Outcome::pass(format!("{} and nothing settled", ex.describe())),
            Some(n) => Outcome::fail(
                "no settlement",
                format!("{n} settlement(s) while answering {}", ex.describe()),
            )
            .with(&ex),
            None => Outcome::unsupported("needs the facilitator journal"),
        }
    })
}

fn verify_before_work(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        // What the handler answers when it runs: its error, for a valid payment.
        let (route, challenge, _, handler) = match failing_route_paid(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let invalid = match pay(ctx, &challenge, Some(&WrongPayment::BadSignature)) {
            Ok(p) => p,
            Err(o) => return o,
        };
        let ex = ctx.target.send(route, Some(&invalid.value), &[]).await;
        let settled = settlements(ctx, &invalid.nonce).unwrap_or(0);
        if settled > 0 {
            return Outcome::fail(
                "no settlement of a payment with a bad signature",
                format!("{settled} settlement(s); answered {}", ex.describe()),
            )
            .with(&ex);
        }
        if ex.status == 402 {
            return Outcome::pass(format!(
                "the bad signature got 402; the handler answers {}",
                handler.describe()
            ));
        }
        let ran = ex.status == handler.status && ex.body == handler.body;
        Outcome::fail(
            "a 402 for a payment with a bad signature",
            if ran {
                format!(
                    "{}: the handler's own error, so it ran before the payment was verified",
                    ex.describe()
                )
            } else {
                ex.describe()
            },
        )
        .with(&ex)
    })
}

fn handler_status_kept(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let route = ctx.target.queued.as_ref().expect("the runner checks needs");
        let (_, payment) = match valid_payment_for(ctx, route).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let ex = ctx.target.send(route, Some(&payment.value), &[]).await;
        let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
        match ex.status {
            201 | 202 if settled == 1 => Outcome::pass(format!("HTTP {}, settled once", ex.status)),
            201 | 202 => Outcome::fail(
                "the handler's status, settled once",
                format!("HTTP {}, settled {settled} time(s)", ex.status),
            )
            .with(&ex),
            200 => Outcome::fail(
                format!("the handler's 201 or 202 for {route}"),
                "HTTP 200: the status was rewritten (or name a request whose handler answers 201 or 202)",
            )
            .with(&ex),
            _ => Outcome::fail(
                format!("the handler's 201 or 202 for {route}"),
                ex.describe(),
            )
            .with(&ex),
        }
    })
}

fn not_cacheable(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (_, ex) = match served_payment(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let cache = ex.header("cache-control").unwrap_or("").to_lowercase();
        let vary = ex.header("vary").unwrap_or("").to_lowercase();
        let payment_header = ctx.target.dialect().payment_header().to_lowercase();
        if cache.contains("no-store") || cache.contains("private") || vary.contains(&payment_header)
        {
            Outcome::pass(format!("cache-control: {cache}"))
        } else {
            Outcome::fail(
                "Cache-Control no-store or private (or Vary on the payment header)",
                format!("cache-control: '{cache}'"),
            )
            .with(&ex)
        }
    })
}

async fn facilitator_request(ctx: &Ctx) -> Outcome {
    let journal = super::facilitator(ctx).journal();
    let mark = journal.len();
    let (_, ex) = match pay_first_route(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let calls = journal.since(mark);
    if calls.is_empty() {
        return Outcome::not_exercised(format!(
            "the server called no facilitator ({})",
            ex.describe()
        ))
        .with(&ex);
    }
    if let Some((call, error)) = calls.iter().find_map(|c| match &c.verdict {
        Verdict::Malformed { error } => Some((c, error)),
        _ => None,
    }) {
        return Outcome::fail(
            format!("a well-formed /{} request", call.endpoint.name()),
            error.clone(),
        )
        .with(&ex);
    }
    // The mock facilitator, like the reference ones, accepts a request that deviates from
    // the schema (a `mimeType: null`) and journals how: a deviation is graded here alone
    // (a failure with --strict), so that the paid flow is still exercised by the rest.
    if let Some(call) = calls.iter().find(|c| !c.deviations.is_empty()) {
        let list: Vec<String> = call.deviations.iter().map(ToString::to_string).collect();
        return Outcome::lenient(
            format!("a /{} request without deviations", call.endpoint.name()),
            list.join("; "),
        )
        .with(&ex);
    }
    Outcome::pass(format!("{} well-formed call(s)", calls.len()))
}
