//! payment-id and retry: the `payment-identifier` extension (an idempotency key) and the
//! retries it exists for. A client that loses its answer resends the same payment under
//! the same id and must get that answer, charged once; another payment under a used id is
//! a conflict. x402 v2 and t402 only (v1 has no extensions); a server that does not
//! advertise the extension has these checks not exercised. `retry/crash-restart`, in every
//! x402 suite, crashes the server mid-settle and resends: never sent to `/settle` twice.

use super::{Faults, Spec, add, body, facilitator, offer, paid, pay, settlements, valid_payment};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::mocks::facilitator::journal::{Endpoint, Journal, Verdict};
use crate::protocol::Dialect;
use crate::protocol::payment_id::{self, MAX_ID_LEN, MIN_ID_LEN};
use crate::target::{Challenge, Exchange, PaymentHeader};
use std::time::Duration;

/// The extension's specification.
const SOURCE: &str = "x402 specs/extensions/payment_identifier.md (Idempotency Behavior)";
/// Where it says how a lost answer is recovered.
const RECOVERY: &str = "x402 specs/extensions/payment_identifier.md (Recovering a Lost Response); x402-foundation/x402#452, #3218 (landscape.md §3)";
/// How slow `/settle` is while paycheck gives up on the answer: slow enough that the
/// client is gone before it returns, and short of the facilitator timeouts servers use
/// (the embedded servers' is 750 ms), so that the server itself sees the settlement succeed.
const SLOW_SETTLE: &str = "settle=latency:250ms";

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    let spec = Spec::new(
        "retry",
        "crash-restart",
        "a payment resent after a crash mid-settle is not settled again",
        Level::Must,
        "When the server dies (SIGKILL) while /settle is in flight and is started again, the same payment resent is never sent to /settle a second time: it gets the kept answer, or a refusal, and the payer is charged once.",
        RECOVERY,
        &[Need::Facilitator, Need::Restart],
    );
    add(
        out,
        d,
        spec,
        body(|ctx: &Ctx| Box::pin(async move { crash_restart(ctx).await })),
    );
    if d.is_v1() {
        return;
    }
    let s = |section, name: &str, title: &str, level, requirement, source| {
        Spec::new(
            section,
            name,
            title,
            level,
            requirement,
            source,
            &[Need::Facilitator],
        )
    };
    add(
        out,
        d,
        s(
            "payment-id",
            "cached-response",
            "a resent payment with the same id gets the first answer, settled once",
            Level::Must,
            "A payment resent with the same payment-identifier id and the same payload gets the cached answer, PAYMENT-RESPONSE included, and is not settled a second time: a client that lost its answer must not pay for nothing.",
            RECOVERY,
        ),
        body(|ctx: &Ctx| Box::pin(async move { cached_response(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "payment-id",
            "conflict",
            "another payment or route under a used id gets 409",
            Level::Must,
            "An id already bound to one payment and route answers 409 Conflict to any other payload or route, and neither serves the first answer nor settles: an id alone never unlocks paid content.",
            SOURCE,
        ),
        body(|ctx: &Ctx| Box::pin(async move { conflict(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "payment-id",
            "required",
            "the declared required flag is honoured",
            // No money is lost either way, and the reference SDK (@x402/express 2.27)
            // declares required: true without enforcing it: the default follows the SDK,
            // --strict the letter.
            Level::Should,
            "With required: true a payment without an id gets 400 Bad Request and is neither served nor settled; with required: false a payment without an id is processed normally.",
            SOURCE,
        ),
        body(|ctx: &Ctx| Box::pin(async move { required(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "payment-id",
            "id-format",
            "an id outside the grammar is refused",
            Level::Should,
            "An id must be 16 to 128 characters of letters, digits, hyphens and underscores; a payment whose id is not is refused with 400, not served.",
            "x402 specs/extensions/payment_identifier.md (id Format)",
        ),
        body(|ctx: &Ctx| Box::pin(async move { id_format(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "payment-id",
            "concurrent",
            "eight parallel requests with one id settle once and none gets a 402",
            Level::Must,
            "While a request with an id is being processed, a resend with that id is not processed again: it gets the first answer once available, or an error it can retry, never a fresh 402 challenge (the client would pay twice); the payment is settled once.",
            RECOVERY,
        ),
        body(|ctx: &Ctx| Box::pin(async move { concurrent(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "retry",
            "while-settling",
            "a client that gives up mid-settle and retries is served, charged once",
            Level::Must,
            "A client that gives up before the answer (a slow /settle) and resends the same payment under the same id at once gets the paid answer, and the payment is settled once.",
            RECOVERY,
        ),
        body(|ctx: &Ctx| Box::pin(async move { while_settling(ctx).await })),
    );
    add(
        out,
        d,
        s(
            "retry",
            "after-disconnect",
            "a settlement begun before the client disconnected is still delivered",
            Level::Must,
            "When the client disconnects while /settle is in flight, the settlement's answer is kept: the same payment resent after the settlement landed gets the paid answer, and is not settled again.",
            RECOVERY,
        ),
        body(|ctx: &Ctx| Box::pin(async move { after_disconnect(ctx).await })),
    );
}

/// A valid payment carrying an id, with whether the server requires one; `unsupported`
/// when the 402 does not advertise the extension.
async fn with_id(ctx: &Ctx) -> Result<(Challenge, PaymentHeader, bool), Outcome> {
    let (challenge, payment) = valid_payment(ctx).await?;
    let Some(required) = challenge.payment_id() else {
        // An optional extension: not offering it is no defect (and no unproven MUST).
        return Err(Outcome::unsupported(
            "the 402 does not advertise the payment-identifier extension (optional), so a resent payment cannot be told from a replay (replay/* grade those)",
        ));
    };
    if payment.payment_id.is_none() {
        return Err(Outcome::not_exercised(
            "paycheck could not put an id in this payment",
        ));
    }
    Ok((challenge, payment, required))
}

/// Sends `payment` and requires it served: the answer, or "not exercised".
async fn first_served(ctx: &Ctx, payment: &PaymentHeader) -> Result<Exchange, Outcome> {
    let ex = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
    if ex.is_success() {
        return Ok(ex);
    }
    Err(Outcome::not_exercised(format!(
        "the payment with an id was not served ({})",
        ex.describe()
    ))
    .with(&ex))
}

/// A valid payment carrying an id, from a server shown to keep answers for ids (see
/// [`keeps_answers`]).
async fn with_kept_answers(ctx: &Ctx) -> Result<(Challenge, PaymentHeader), Outcome> {
    let (challenge, payment, _) = with_id(ctx).await?;
    keeps_answers(ctx, &challenge).await?;
    Ok((challenge, payment))
}

/// Whether the server keeps answers for ids at all: a fresh payment with an id, served,
/// and resent once it was answered, gets its answer again. "Not exercised" when not, so a
/// server that ignores ids fails `payment-id/cached-response` alone, not every check here.
async fn keeps_answers(ctx: &Ctx, challenge: &Challenge) -> Result<(), Outcome> {
    let probe = pay(ctx, challenge, None)?;
    first_served(ctx, &probe).await?;
    let again = ctx.target.send(paid(ctx), Some(&probe.value), &[]).await;
    if again.is_success() {
        return Ok(());
    }
    Err(Outcome::not_exercised(format!(
        "the server does not give a resent id its first answer ({}; payment-id/cached-response grades that)",
        again.describe()
    ))
    .with(&again))
}

/// How long a resend honours `Retry-After` before paycheck takes the answer as final.
const RETRY_WINDOW: Duration = Duration::from_secs(5);

/// Resends `payment` as a client does: while the answer is a retryable error with
/// `Retry-After` (the first request still in flight), waits what it says (at most 1 s a
/// time, [`RETRY_WINDOW`] in all) and sends again. The last answer.
async fn resend(ctx: &Ctx, payment: &PaymentHeader) -> Exchange {
    let started = std::time::Instant::now();
    loop {
        let ex = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
        let retry_after = ex
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|_| matches!(ex.status, 425 | 429 | 503));
        match retry_after {
            Some(secs) if started.elapsed() < RETRY_WINDOW => {
                tokio::time::sleep(Duration::from_secs(secs).min(Duration::from_secs(1))).await;
            }
            _ => return ex,
        }
    }
}

/// An answer a client may retry (not a final refusal): 409, 425, 429 or a 5xx.
fn retryable(ex: &Exchange) -> bool {
    matches!(ex.status, 409 | 425 | 429 | 500..=599)
}

/// The settlement receipt of an answer, as sent.
fn receipt<'a>(ctx: &Ctx, ex: &'a Exchange) -> Option<&'a str> {
    ex.header(ctx.target.dialect().response_header())
}

/// How a resend compares with the first answer: `None` when it is the same answer.
fn differs(ctx: &Ctx, first: &Exchange, again: &Exchange) -> Option<String> {
    if !again.is_success() {
        return Some(format!("the resend got {}", again.describe()));
    }
    if again.status != first.status || again.body != first.body {
        return Some(format!(
            "the resend got another answer: HTTP {} {:?}, first HTTP {} {:?}",
            again.status, again.body, first.status, first.body
        ));
    }
    let name = ctx.target.dialect().response_header();
    match (receipt(ctx, first), receipt(ctx, again)) {
        (Some(a), Some(b)) if a == b => None,
        (Some(_), Some(_)) => Some(format!("the resend's {name} differs from the first")),
        (Some(_), None) => Some(format!(
            "the resend has no {name}: the client cannot reconcile its payment"
        )),
        (None, _) => None,
    }
}

async fn cached_response(ctx: &Ctx) -> Outcome {
    let (_, payment, _) = match with_id(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let first = match first_served(ctx, &payment).await {
        Ok(ex) => ex,
        Err(o) => return o,
    };
    let again = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    if settled > 1 {
        return Outcome::fail(
            "one settlement for a payment resent under its id",
            format!("{settled} settlements"),
        )
        .with(&again);
    }
    if let Some(why) = differs(ctx, &first, &again) {
        return Outcome::fail(
            "the first answer again, with its receipt",
            format!("{why}: the client paid and lost its answer"),
        )
        .with(&first)
        .with(&again);
    }
    Outcome::pass(format!(
        "the resend got the first answer ({}), {settled} settlement",
        again.describe()
    ))
}

async fn conflict(ctx: &Ctx) -> Outcome {
    let (challenge, payment) = match with_kept_answers(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let id = payment.payment_id.clone();
    if let Err(o) = first_served(ctx, &payment).await {
        return o;
    }
    let other = match pay(ctx, &challenge, None) {
        Ok(p) => p.with_payment_id(id.as_deref()),
        Err(o) => return o,
    };
    let mut tried = vec![("another payment", paid(ctx).clone(), other)];
    let mut skipped = match ctx.target.paid.get(1) {
        None => {
            Some("one paid route named: the other-route case needs a second --paid".to_string())
        }
        Some(second) => match offer(ctx, second).await {
            Ok((c, _)) if c.payment_id().is_none() => {
                Some(format!("{second} does not advertise the extension"))
            }
            Ok((c, _)) => match pay(ctx, &c, None) {
                Ok(p) => {
                    tried.push((
                        "another route",
                        second.clone(),
                        p.with_payment_id(id.as_deref()),
                    ));
                    None
                }
                Err(o) => Some(format!("{second} could not be paid: {}", o.message)),
            },
            Err(o) => Some(format!("{second}: {}", o.message)),
        },
    };
    let mut seen = Vec::new();
    for (what, route, p) in &tried {
        let ex = ctx.target.send(route, Some(&p.value), &[]).await;
        let settled = settlements(ctx, &p.nonce).unwrap_or(0);
        if ex.is_success() || settled > 0 {
            return Outcome::fail(
                format!("409 for {what} under a used id, nothing served or settled"),
                format!("{}, {settled} settlement(s)", ex.describe()),
            )
            .with(&ex);
        }
        if ex.status != 409 {
            return Outcome::fail(
                format!("409 Conflict for {what} under a used id"),
                ex.describe(),
            )
            .with(&ex);
        }
        seen.push(*what);
    }
    let note = skipped
        .take()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    Outcome::pass(format!("409 for {}{note}", seen.join(" and ")))
}

async fn required(ctx: &Ctx) -> Outcome {
    let (_, payment, required) = match with_id(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let without = payment.with_payment_id(None);
    let ex = ctx.target.send(paid(ctx), Some(&without.value), &[]).await;
    let settled = settlements(ctx, &without.nonce).unwrap_or(0);
    if required {
        if ex.is_success() || settled > 0 {
            return Outcome::fail(
                "400 for a payment without an id (the 402 declares required: true)",
                format!("{}, {settled} settlement(s)", ex.describe()),
            )
            .with(&ex);
        }
        if ex.status != 400 {
            return Outcome::fail("400 Bad Request for a payment without an id", ex.describe())
                .with(&ex);
        }
        return Outcome::pass("required: true, and a payment without an id got 400");
    }
    if !ex.is_success() {
        if let Err(o) = first_served(ctx, &payment).await {
            // Not even a payment with an id is served: payment/served's failure, not this.
            return o;
        }
        return Outcome::fail(
            "a payment without an id served (the 402 declares required: false)",
            ex.describe(),
        )
        .with(&ex);
    }
    Outcome::pass("required: false, and a payment without an id was served")
}

async fn id_format(ctx: &Ctx) -> Outcome {
    let (challenge, _, _) = match with_id(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let bad = [
        ("too short", "p".repeat(MIN_ID_LEN - 1)),
        ("too long", "p".repeat(MAX_ID_LEN + 1)),
        ("with '!'", "pay_0123456789abcdef!".to_string()),
        ("with a space", "pay_0123456789 abcdef".to_string()),
    ];
    for (what, id) in &bad {
        debug_assert!(payment_id::grammar_error(id).is_some());
        let payment = match pay(ctx, &challenge, None) {
            Ok(p) => p.with_payment_id(Some(id)),
            Err(o) => return o,
        };
        let ex = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
        if ex.is_success() || ex.status != 400 {
            return Outcome::fail(format!("400 for an id {what}"), ex.describe()).with(&ex);
        }
    }
    Outcome::pass("ids too short, too long, with '!' and with a space got 400")
}

async fn concurrent(ctx: &Ctx) -> Outcome {
    let (_, payment) = match with_kept_answers(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let results = {
        // A slow /settle keeps the first request in flight while the others arrive.
        let _slow = Faults::set(facilitator(ctx), &["settle=latency:200ms"]);
        let copies = (0..8).map(|_| ctx.target.send(paid(ctx), Some(&payment.value), &[]));
        futures::future::join_all(copies).await
    };
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    let served: Vec<&Exchange> = results.iter().filter(|e| e.is_success()).collect();
    if settled > 1 {
        return Outcome::fail(
            "one settlement for eight copies under one id",
            format!("{settled} settlements"),
        )
        .with(served.first().copied().unwrap_or(&results[0]));
    }
    if let Some(challenged) = results.iter().find(|e| e.status == 402) {
        return Outcome::fail(
            "no copy answered with a fresh 402 while the first was in flight",
            format!(
                "{} of 8 copies got a 402 ({}): the client would pay again",
                results.iter().filter(|e| e.status == 402).count(),
                challenged.describe()
            ),
        )
        .with(challenged);
    }
    if let Some(refused) = results.iter().find(|e| !e.is_success() && !retryable(e)) {
        return Outcome::fail(
            "every copy not served gets an error it can retry (409, 429 or 5xx)",
            format!(
                "{}: a final refusal for a payment that is being settled",
                refused.describe()
            ),
        )
        .with(refused);
    }
    let Some(first) = served.first() else {
        if settled == 1 {
            return Outcome::fail(
                "a copy served for the settled payment",
                "charged once, and no copy was served",
            )
            .with(&results[0]);
        }
        return Outcome::not_exercised("no copy was served or settled").with(&results[0]);
    };
    if let Some(other) = served.iter().find(|e| e.body != first.body) {
        return Outcome::fail(
            "every served copy gets the same answer",
            format!("{} and {}", first.describe(), other.describe()),
        )
        .with(other);
    }
    Outcome::pass(format!(
        "{} of 8 copies served the same answer, the others a retryable error; {settled} settlement",
        served.len()
    ))
}

/// Sends `payment` and gives up (closes the connection) as soon as the facilitator has
/// received its `/settle`, as a client whose timeout ends mid-settle does; `Err` when the
/// server answered first, or never called `/settle`.
async fn abandoned(ctx: &Ctx, payment: &PaymentHeader) -> Result<(), Outcome> {
    let journal = facilitator(ctx).journal();
    let send = ctx.target.send(paid(ctx), Some(&payment.value), &[]);
    let settling = journal.wait_until(ctx.target.timeout, |j| j.settles_begun(&payment.nonce) > 0);
    tokio::select! {
        ex = send => Err(Outcome::not_exercised(format!(
            "the server answered before its /settle ({}); see payment/served and resilience/*",
            ex.describe()
        ))
        .with(&ex)),
        began = settling => match began {
            true => Ok(()),
            false => Err(Outcome::not_exercised(
                "the server did not call /settle within --timeout",
            )),
        },
    }
}

async fn while_settling(ctx: &Ctx) -> Outcome {
    let (_, payment) = match with_kept_answers(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let retry = {
        let _slow = Faults::set(facilitator(ctx), &[SLOW_SETTLE]);
        if let Err(o) = abandoned(ctx, &payment).await {
            return o;
        }
        resend(ctx, &payment).await
    };
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    grade_retry(&retry, settled, "while its first request was settling")
}

/// How long a client waits after its settlement landed before it asks again: the server
/// needs a moment to keep the answer it got back.
const SETTLED_GRACE: Duration = Duration::from_millis(100);

async fn after_disconnect(ctx: &Ctx) -> Outcome {
    let (_, payment) = match with_kept_answers(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    {
        let _slow = Faults::set(facilitator(ctx), &[SLOW_SETTLE]);
        if let Err(o) = abandoned(ctx, &payment).await {
            return o;
        }
        // The settlement runs on without the client; wait (bounded) until it landed.
        let bound = ctx.target.timeout + Duration::from_secs(1);
        facilitator(ctx)
            .journal()
            .wait_until(bound, |j| j.settlements_of(&payment.nonce) > 0)
            .await;
    }
    tokio::time::sleep(SETTLED_GRACE).await;
    let retry = resend(ctx, &payment).await;
    let settled = facilitator(ctx).journal().settlements_of(&payment.nonce);
    grade_retry(&retry, settled, "after the client disconnected mid-settle")
}

/// A retry of a payment is served and the payment settled at most once (its receipt is
/// `payment/*`'s to grade).
fn grade_retry(retry: &Exchange, settled: usize, when: &str) -> Outcome {
    if settled > 1 {
        return Outcome::fail(
            "one settlement for a payment retried under its id",
            format!("{settled} settlements: the client was charged twice"),
        )
        .with(retry);
    }
    if !retry.is_success() {
        let charged = if settled == 1 {
            "charged once and not served"
        } else {
            "not served"
        };
        return Outcome::fail(
            format!("the retry {when} served"),
            format!("{}: {charged}", retry.describe()),
        )
        .with(retry);
    }
    Outcome::pass(format!(
        "the retry {when} was served ({}), {settled} settlement",
        retry.describe()
    ))
}

async fn crash_restart(ctx: &Ctx) -> Outcome {
    let (challenge, payment) = match valid_payment(ctx).await {
        Ok(v) => v,
        Err(o) => return o,
    };
    let restart = ctx.restart.as_deref().expect("the runner checks needs");
    let journal = facilitator(ctx).journal();
    let bound = ctx.target.timeout + Duration::from_secs(1);
    {
        let _slow = Faults::set(facilitator(ctx), &[SLOW_SETTLE]);
        if let Err(o) = abandoned(ctx, &payment).await {
            return o;
        }
        if let Err(e) = restart.crash_and_restart().await {
            return Outcome::error(e);
        }
        // The settlement the server asked for lands without it; wait (bounded) for it.
        journal
            .wait_until(bound, |j| j.settlements_of(&payment.nonce) > 0)
            .await;
    }
    tokio::time::sleep(SETTLED_GRACE).await;
    let settle_calls = |j: &Journal| {
        j.calls_for_nonce(&payment.nonce)
            .into_iter()
            .filter(|e| *e == Endpoint::Settle)
            .count()
    };
    // Every /settle begun for it answered (bounded), so that each count is whole.
    let answered = |j: &Journal| settle_calls(j) >= j.settles_begun(&payment.nonce);
    journal.wait_until(bound, answered).await;
    // Calls before the resend: the first, and any the restarted server made on its own.
    let before = settle_calls(journal);
    let mark = journal.len();
    let resend = resend(ctx, &payment).await;
    journal.wait_until(bound, answered).await;
    let calls = settle_calls(journal);
    let settled = journal.settlements_of(&payment.nonce);
    if !resend.answered() {
        return Outcome::fail(
            "the restarted server answers the resend (its kept answer or a refusal)",
            resend.describe(),
        )
        .with(&resend);
    }
    if challenge.is_upfront() {
        // The upfront flow calls no /verify: /settle is its check of a payment, so a resend
        // reaching it is the flow's design; the refused settlement must refuse the resend.
        if settled > 1 || (calls > 1 && resend.is_success()) {
            return Outcome::fail(
                "a resend whose /settle was refused is not served, and one settlement",
                format!("{}, {settled} settlement(s)", resend.describe()),
            )
            .with(&resend);
        }
        return Outcome::pass(format!(
            "crashed mid-settle and restarted; the upfront resend got {}, {settled} settlement",
            resend.describe()
        ));
    }
    if before > 1 {
        return Outcome::fail(
            "the payment sent to /settle once, across the crash",
            format!(
                "{before} /settle calls before any resend: the restarted server settled it again on its own, which a facilitator or chain without nonce checks charges twice"
            ),
        )
        .with(&resend);
    }
    if calls > before {
        // The resend reached /settle: a server that settles what it did not verify, or
        // what /verify refused, is another check's failure.
        let during = journal.since(mark);
        let during: Vec<_> = during
            .iter()
            .filter(|e| e.nonce.as_deref() == Some(payment.nonce.as_str()))
            .collect();
        let refused = during.iter().any(|e| {
            e.endpoint == Endpoint::Verify && matches!(e.verdict, Verdict::Invalid { .. })
        });
        if !during.iter().any(|e| e.endpoint == Endpoint::Verify) {
            return Outcome::not_exercised(
                "the resend went to /settle without a /verify (payment/verify-then-settle grades a server that settles what it did not verify)",
            )
            .with(&resend);
        }
        if refused {
            return Outcome::not_exercised(
                "the resend went to /settle after /verify refused it (payment/settle-only-verified grades that)",
            )
            .with(&resend);
        }
    }
    if calls > 1 || settled > 1 {
        return Outcome::fail(
            "the payment sent to /settle once, across the crash",
            format!(
                "{calls} /settle calls ({settled} succeeded): the restarted server settled it again, which a facilitator or chain without nonce checks charges twice"
            ),
        )
        .with(&resend);
    }
    let then = if resend.is_success() {
        "served from what survived the crash"
    } else {
        "refused: the crash lost the answer, not the money"
    };
    Outcome::pass(format!(
        "crashed mid-settle and restarted; the resend got {} ({then}), {calls} /settle call",
        resend.describe()
    ))
}
