//! x402 properties: generated payments (valid, wrong in one to three ways, or oddly
//! encoded) and replays, checked against properties every server must keep, with proptest
//! shrinking a failure to its smallest case.
//!
//! Properties of every answer: no 5xx, no dropped connection or hang past the timeout, no
//! stack trace or internals, a reason on every refusal; a payment that must be refused is
//! never served and never settled; the valid payment (no edits) is served. Replay: a
//! payment served once is never served again, at once, after other payments, or among
//! concurrent copies; it is settled at most once.

mod build;
pub mod edits;

use super::{
    Property, PropsConfig, conclude, drive, has_reason, plan_failure, regressions, result, runner,
};
use crate::catalogue::runner::CheckResult;
use crate::catalogue::{Ctx, Level, Status};
use crate::mocks::facilitator::faults::FaultRule;
use crate::target::{Challenge, Exchange};
use build::build;
use edits::{Edit, case};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::time::Instant;

/// Where the x402 properties come from.
const SOURCE: &str =
    "x402-specification-v2.md §6.1.2, §9, §10.1; transports-v2/http.md error handling";

const PAYLOAD: Property = Property {
    name: "payload",
    title: "generated payments are judged safely",
    requirement: "Every answer to a payment is a clean, reasoned answer without a 5xx; a payment that is wrong in any way is never served nor settled; the valid one is served.",
    level: Level::Must,
    source: SOURCE,
};

const REPLAY: Property = Property {
    name: "replay",
    title: "a served payment is never served again",
    requirement: "A payment served once is refused when sent again, at once, after other payments or among concurrent copies, and is settled at most once.",
    level: Level::Must,
    source: SOURCE,
};

/// What a case did.
struct Ran {
    violation: Option<String>,
    exchange: Exchange,
    header: String,
    json: serde_json::Value,
}

/// Runs one case against the target and judges it.
async fn run_case(ctx: &Ctx, challenge: &Challenge, edits: &[Edit]) -> Result<Ran, String> {
    let built = build(ctx, challenge, edits)?;
    let route = &ctx.target.paid[0];
    let twice = [(ctx.target.dialect().payment_header(), built.header.as_str())];
    let extra: &[(&str, &str)] = if edits.contains(&Edit::DuplicateHeader) {
        &twice
    } else {
        &[]
    };
    let ex = ctx.target.send(route, Some(&built.header), extra).await;
    let settled = ctx
        .facilitator
        .as_ref()
        .map_or(0, |f| f.journal().settlements_of(&built.nonce));
    let violation = judge(ctx, &ex, settled, built.must_refuse, edits.is_empty());
    Ok(Ran {
        violation,
        exchange: ex,
        header: built.header,
        json: built.json,
    })
}

fn judge(
    ctx: &Ctx,
    ex: &Exchange,
    settled: usize,
    must_refuse: bool,
    control: bool,
) -> Option<String> {
    if let Some(e) = &ex.error {
        return Some(format!("no answer: {e}"));
    }
    if ex.status >= 500 {
        return Some(format!("answered {}", ex.describe()));
    }
    if let Some(m) = crate::catalogue::leak_in(&ex.body) {
        return Some(format!("the body shows internals ('{m}')"));
    }
    if (400..500).contains(&ex.status) && !has_reason(ctx, ex) {
        return Some(format!("a refusal ({}) without a reason", ex.describe()));
    }
    if must_refuse && (ex.is_success() || settled > 0) {
        return Some(format!(
            "a payment that must be refused got {} and {settled} settlement(s)",
            ex.describe()
        ));
    }
    if control && (!ex.is_success() || settled != 1) {
        return Some(format!(
            "the valid payment got {} and {settled} settlement(s)",
            ex.describe()
        ));
    }
    None
}

/// A ready-to-run command that sends the case again.
pub fn curl(ctx: &Ctx, header: &str) -> String {
    let route = &ctx.target.paid[0];
    let mut cmd = format!(
        "curl -i -X {} '{}{}' -H '{}: {}'",
        route.method,
        ctx.target.base_url,
        route.path,
        ctx.target.dialect().payment_header(),
        header.replace('\'', "'\\''")
    );
    if let Some(b) = &route.body {
        cmd.push_str(&format!(" -H 'Content-Type: application/json' -d '{b}'"));
    }
    cmd
}

/// The first paid route's challenge, or the result that says why there is none.
async fn challenge(ctx: &Ctx, p: &Property, started: Instant) -> Result<Challenge, CheckResult> {
    let Some(route) = ctx.target.paid.first() else {
        return Err(result(
            ctx,
            p,
            Status::Unsupported,
            "no paid route".into(),
            vec![],
            started,
        ));
    };
    ctx.target
        .challenge(route)
        .await
        .map(|(c, _)| c)
        .map_err(|(e, ex)| {
            result(
                ctx,
                p,
                Status::NotExercised,
                format!("no readable challenge: {e}"),
                vec![ex],
                started,
            )
        })
}

/// The payload-validation property over generated cases.
pub async fn payload_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    let started = Instant::now();
    let challenge = match challenge(ctx, &PAYLOAD, started).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Every case starts from the valid payment: one paycheck cannot make (a mainnet
    // offer) leaves the property unexercised, not passed on rejected cases.
    if let Err(e) = build(ctx, &challenge, &[]) {
        return result(
            ctx,
            &PAYLOAD,
            Status::NotExercised,
            format!("paycheck cannot pay this offer: {e}"),
            vec![],
            started,
        );
    }
    // Stored regressions first.
    let suite = ctx.target.dialect().id();
    for edits in regressions::load(config.regressions.as_deref(), suite) {
        if let Ok(ran) = run_case(ctx, &challenge, &edits).await
            && let Some(v) = ran.violation.clone()
        {
            return failure(
                ctx,
                &PAYLOAD,
                &edits,
                &ran,
                v,
                "a stored regression",
                started,
            );
        }
    }
    let mut runner = runner(config.cases, config.seed);
    let budget = (started, config.budget);
    let challenge = &challenge;
    let (outcome, n) = drive(
        &mut runner,
        &case(),
        budget,
        TestCaseError::reject,
        |edits| async move { Ok(run_case(ctx, challenge, &edits).await?.violation) },
    );
    let gave_up = |why| (Status::Error, format!("aborted: {why}"));
    conclude(
        ctx,
        &PAYLOAD,
        outcome,
        n,
        config,
        started,
        gave_up,
        |_, edits| async move {
            regressions::store(config.regressions.as_deref(), suite, &edits);
            match run_case(ctx, challenge, &edits).await {
                Ok(ran) => {
                    let v = ran
                        .violation
                        .clone()
                        .unwrap_or_else(|| "the minimal case did not fail again".into());
                    let origin = format!("seed {}", config.seed);
                    failure(ctx, &PAYLOAD, &edits, &ran, v, &origin, started)
                }
                Err(e) => result(ctx, &PAYLOAD, Status::Error, e, vec![], started),
            }
        },
    )
    .await
}

fn failure(
    ctx: &Ctx,
    p: &Property,
    edits: &[Edit],
    ran: &Ran,
    violation: String,
    origin: &str,
    started: Instant,
) -> CheckResult {
    let edits_json = serde_json::to_string(edits).unwrap_or_default();
    let message = format!(
        "{violation}\n  minimal case ({origin}): {edits_json}\n  reproduce: {}\n  payload sent: {}",
        curl(ctx, &ran.header),
        ran.json
    );
    let mut r = result(
        ctx,
        p,
        Status::Fail,
        message,
        vec![ran.exchange.clone()],
        started,
    );
    r.expected = Some("every property to hold".into());
    r.actual = Some(format!("{violation}; minimal case {edits_json}"));
    r
}

/// How a paid payment is sent again.
#[derive(Debug, Clone, Copy)]
enum Replay {
    /// Right after it was served.
    AtOnce,
    /// After this many other payments.
    AfterOthers(u8),
    /// As this many concurrent copies, the first use of the payment.
    Concurrent(u8),
}

fn replay_plan() -> impl Strategy<Value = Replay> {
    prop_oneof![
        Just(Replay::AtOnce),
        (1u8..=3).prop_map(Replay::AfterOthers),
        (2u8..=8).prop_map(Replay::Concurrent)
    ]
}

async fn run_replay(
    ctx: &Ctx,
    challenge: &Challenge,
    plan: Replay,
) -> Result<Option<String>, String> {
    let route = &ctx.target.paid[0];
    let payment = ctx
        .target
        .pay(&ctx.payer, challenge, None)
        .map_err(|e| e.to_string())?;
    let settled = || {
        ctx.facilitator
            .as_ref()
            .map_or(0, |f| f.journal().settlements_of(&payment.nonce))
    };
    if let Replay::Concurrent(n) = plan {
        let slow = ctx.facilitator.as_ref().inspect(|f| {
            f.faults().set(vec![
                "settle=latency:100ms"
                    .parse::<FaultRule>()
                    .expect("valid rule"),
            ]);
        });
        let values: Vec<String> = (0..n).map(|_| payment.replayed().value).collect();
        let answers =
            futures::future::join_all(values.iter().map(|v| ctx.target.send(route, Some(v), &[])))
                .await;
        if let Some(f) = slow {
            f.faults().clear();
        }
        let served = answers.iter().filter(|e| e.is_success()).count();
        return Ok((served > 1 || settled() > 1).then(|| {
            format!(
                "{n} concurrent copies: {served} served, {} settlement(s)",
                settled()
            )
        }));
    }
    let first = ctx.target.send(route, Some(&payment.value), &[]).await;
    if !first.is_success() {
        return Ok(Some(format!("the valid payment got {}", first.describe())));
    }
    if let Replay::AfterOthers(k) = plan {
        for _ in 0..k {
            let other = ctx
                .target
                .pay(&ctx.payer, challenge, None)
                .map_err(|e| e.to_string())?;
            ctx.target.send(route, Some(&other.value), &[]).await;
        }
    }
    let again = ctx
        .target
        .send(route, Some(&payment.replayed().value), &[])
        .await;
    Ok((again.is_success() || settled() != 1).then(|| {
        format!(
            "{plan:?}: the replay got {}, {} settlement(s)",
            again.describe(),
            settled()
        )
    }))
}

/// The replay property over generated replay plans.
pub async fn replay_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    let started = Instant::now();
    if ctx.facilitator.is_none() {
        return result(
            ctx,
            &REPLAY,
            Status::Unsupported,
            "needs paycheck's mock facilitator (--spawn or --facilitator-wired)".into(),
            vec![],
            started,
        );
    }
    let challenge = match challenge(ctx, &REPLAY, started).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Replays are costlier than payload cases (several requests each): a tenth as many.
    let config = PropsConfig {
        cases: (config.cases / 10).max(8),
        ..config.clone()
    };
    let mut runner = runner(config.cases, config.seed ^ 0x5eed);
    let budget = (started, config.budget);
    let challenge = &challenge;
    let (outcome, n) = drive(
        &mut runner,
        &replay_plan(),
        budget,
        TestCaseError::reject,
        |plan| run_replay(ctx, challenge, plan),
    );
    let gave_up = |why| (Status::Error, format!("aborted: {why}"));
    conclude(
        ctx,
        &REPLAY,
        outcome,
        n,
        &config,
        started,
        gave_up,
        |why, plan| async move { plan_failure(ctx, &REPLAY, why, plan, config.seed, started) },
    )
    .await
}
