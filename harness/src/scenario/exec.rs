//! Running a scenario's steps against a target.

use super::Scenario;
use super::model::{Expect, Request, Step};
use crate::catalogue::{Ctx, Outcome};
use crate::mocks::facilitator::journal::{JournalEntry, Verdict};
use crate::payer::WrongPayment;
use crate::protocol::facilitator::SettlementResponse;
use crate::protocol::{Mode, decode_header};
use crate::target::{Challenge, Exchange, PaymentHeader, RouteSpec};
use std::collections::HashMap;
use std::str::FromStr;

/// What a finished step left for later steps.
#[derive(Default)]
struct Done {
    challenge: Option<Challenge>,
    payment: Option<PaymentHeader>,
    /// The payment sent pays an offer that declares the upfront flow.
    upfront: bool,
}

/// Runs every step; the first unmet expectation fails the check.
pub(super) async fn run(scenario: &Scenario, ctx: &Ctx) -> Outcome {
    if let Some(p) = &scenario.spec.props {
        return run_props(p, ctx).await;
    }
    let mut done: HashMap<String, Done> = HashMap::new();
    for step in &scenario.spec.steps {
        let name = step.name.get_ref().clone();
        let (outcome, left) = run_step(step, ctx, &done).await;
        if let Some(o) = outcome {
            return o;
        }
        done.insert(name, left);
    }
    Outcome::pass(format!("{} step(s) as expected", scenario.spec.steps.len()))
}

fn route(ctx: &Ctx, request: &Request) -> Result<RouteSpec, Outcome> {
    let t = &ctx.target;
    let mut spec = match request.route.as_ref().map(|r| r.get_ref().as_str()) {
        Some("paid") => t.paid.first().cloned(),
        Some("paid-2") => t.paid.get(1).cloned(),
        Some("free") => t.free.clone(),
        Some("failing") => t.failing.clone(),
        Some(_) => None,
        None => {
            let method = request.method.as_deref().unwrap_or("GET");
            let path = request.path.as_deref().unwrap_or("/");
            RouteSpec::from_str(&format!("{method} {path}")).ok()
        }
    }
    .ok_or_else(|| {
        let r = request
            .route
            .as_ref()
            .map_or("?".into(), |r| r.get_ref().clone());
        Outcome::unsupported(format!("route '{r}' was not named for this run"))
    })?;
    if let Some(body) = &request.body {
        spec.body = Some(body.clone());
    }
    if request.route.is_some()
        && let Some(method) = &request.method
    {
        spec.method = reqwest::Method::from_str(&method.to_uppercase())
            .map_err(|_| Outcome::error(format!("'{method}' is not an HTTP method")))?;
    }
    Ok(spec)
}

fn payment(
    ctx: &Ctx,
    step: &Step,
    done: &HashMap<String, Done>,
) -> Result<Option<PaymentHeader>, Outcome> {
    let Some(pay) = &step.request.pay else {
        return Ok(None);
    };
    if let Some(replay) = &pay.replay {
        // A replay is the same authorization; under a fresh payment-identifier id, since
        // the same id would rightly get the first answer back.
        let earlier = done
            .get(replay.get_ref())
            .and_then(|d| d.payment.as_ref())
            .map(PaymentHeader::replayed);
        return earlier.map(Some).ok_or_else(|| {
            Outcome::not_exercised(format!(
                "step '{}' sent no payment to replay",
                replay.get_ref()
            ))
        });
    }
    let offer = pay.offer.as_ref().expect("validated: offer or replay");
    let challenge = done
        .get(offer.get_ref())
        .and_then(|d| d.challenge.as_ref())
        .ok_or_else(|| {
            Outcome::not_exercised(format!(
                "step '{}' received no readable challenge to pay",
                offer.get_ref()
            ))
        })?;
    let wrong = pay
        .wrong
        .as_ref()
        .map(|w| WrongPayment::from_str(w.get_ref()).expect("validated"));
    ctx.pay(challenge, wrong.as_ref())
        .map(Some)
        .map_err(|e| Outcome::not_exercised(format!("paycheck cannot pay this offer: {e}")))
}

async fn run_step(step: &Step, ctx: &Ctx, done: &HashMap<String, Done>) -> (Option<Outcome>, Done) {
    let name = step.name.get_ref();
    let spec = match route(ctx, &step.request) {
        Ok(r) => r,
        Err(o) => return (Some(o), Done::default()),
    };
    let payment = match payment(ctx, step, done) {
        Ok(p) => p,
        Err(o) => return (Some(o), Done::default()),
    };
    let headers: Vec<(&str, &str)> = step
        .request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mark = ctx.facilitator.as_ref().map_or(0, |f| f.journal().len());
    let copies = step
        .request
        .pay
        .as_ref()
        .and_then(|p| p.copies)
        .unwrap_or(1)
        .max(1);
    // Copies race one authorization, each under its own payment-identifier id (copies
    // under one id would rightly share one answer).
    let values: Vec<Option<String>> = (0..copies)
        .map(|_| {
            payment.as_ref().map(|p| match copies {
                1 => p.value.clone(),
                _ => p.replayed().value,
            })
        })
        .collect();
    let exchanges: Vec<Exchange> = futures::future::join_all(
        values
            .iter()
            .map(|value| ctx.target.send(&spec, value.as_deref(), &headers)),
    )
    .await;
    let calls = ctx.facilitator.as_ref().map(|f| f.journal().since(mark));
    // The flow of what was paid: the offer's, or, for a replay, the replayed step's.
    let upfront = step
        .request
        .pay
        .as_ref()
        .is_some_and(|p| match (&p.offer, &p.replay) {
            (Some(offer), _) => done
                .get(offer.get_ref())
                .and_then(|d| d.challenge.as_ref())
                .is_some_and(Challenge::is_upfront),
            (None, Some(replay)) => done.get(replay.get_ref()).is_some_and(|d| d.upfront),
            (None, None) => false,
        });
    let failure = judge(
        ctx,
        name,
        &step.expect,
        &exchanges,
        calls.as_deref(),
        upfront,
    );
    let first = &exchanges[0];
    let left = Done {
        challenge: ctx.target.read_challenge(first, Mode::Lenient).ok(),
        payment,
        upfront,
    };
    (failure, left)
}

fn fail(
    step: &str,
    expected: impl Into<String>,
    actual: impl Into<String>,
    ex: &Exchange,
) -> Option<Outcome> {
    Some(Outcome::fail(format!("step '{step}': {}", expected.into()), actual.into()).with(ex))
}

/// The first expectation the answers do not meet, as a failure.
fn judge(
    ctx: &Ctx,
    step: &str,
    e: &Expect,
    exchanges: &[Exchange],
    calls: Option<&[JournalEntry]>,
    upfront: bool,
) -> Option<Outcome> {
    let first = &exchanges[0];
    if let Some(most) = e.successes_at_most {
        let ok = exchanges.iter().filter(|x| x.is_success()).count();
        if ok > most as usize {
            return fail(
                step,
                format!("at most {most} of {} copies served", exchanges.len()),
                format!("{ok} served"),
                first,
            );
        }
    }
    for ex in exchanges
        .iter()
        .filter(|x| e.successes_at_most.is_none() || !x.is_success())
    {
        if let Some(status) = e.status
            && ex.status != status
        {
            return fail(step, format!("HTTP {status}"), ex.describe(), ex);
        }
        if let Some(class) = &e.status_class
            && ex.status / 100 != u16::from(class.as_bytes()[0] - b'0')
        {
            return fail(step, format!("a {class} status"), ex.describe(), ex);
        }
    }
    for h in &e.headers_present {
        if first.header(h).is_none() {
            return fail(step, format!("a {h} header"), "none", first);
        }
    }
    for h in &e.headers_absent {
        if let Some(v) = first.header(h) {
            return fail(step, format!("no {h} header"), format!("{h}: {v}"), first);
        }
    }
    for (h, text) in &e.headers_contain {
        let value = first.header(h).unwrap_or("");
        if !value.to_lowercase().contains(&text.to_lowercase()) {
            return fail(
                step,
                format!("{h} containing '{text}'"),
                format!("{h}: '{value}'"),
                first,
            );
        }
    }
    if let Some(mode) = &e.payment_required {
        let mode = if mode == "strict" {
            Mode::Strict
        } else {
            Mode::Lenient
        };
        if let Err(err) = ctx.target.read_challenge(first, mode) {
            return fail(
                step,
                "payment requirements that decode",
                err.to_string(),
                first,
            );
        }
    }
    if let Some(want) = &e.payment_response {
        let name = ctx.target.dialect().response_header();
        let decoded = first
            .header(name)
            .map(|h| decode_header::<SettlementResponse>(ctx.target.dialect(), Mode::Lenient, h));
        match decoded {
            None => return fail(step, format!("a {name} header"), "none", first),
            Some(Err(err)) => {
                return fail(step, format!("a decodable {name}"), err.to_string(), first);
            }
            Some(Ok(r)) if r.value.success != want.success => {
                return fail(
                    step,
                    format!("success: {}", want.success),
                    format!("success: {}", r.value.success),
                    first,
                );
            }
            Some(Ok(_)) => {}
        }
    }
    if !e.json.is_empty() {
        let body: serde_json::Value =
            serde_json::from_str(&first.body).unwrap_or(serde_json::Value::Null);
        for (pointer, want) in &e.json {
            let want = serde_json::to_value(want).unwrap_or(serde_json::Value::Null);
            let got = body
                .pointer(pointer)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            if got != want {
                return fail(
                    step,
                    format!("{pointer} = {want}"),
                    format!("{pointer} = {got}"),
                    first,
                );
            }
        }
    }
    if let Some(ms) = e.max_latency_ms
        && first.elapsed.as_millis() > u128::from(ms)
    {
        return fail(
            step,
            format!("an answer within {ms} ms"),
            format!("{} ms", first.elapsed.as_millis()),
            first,
        );
    }
    if let Some(f) = &e.facilitator {
        let Some(calls) = calls else {
            return Some(Outcome::unsupported("needs the mock facilitator's journal"));
        };
        let verify = calls
            .iter()
            .filter(|c| c.endpoint.name() == "verify")
            .count();
        let settled = calls
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Settled { .. }))
            .count();
        let order: Vec<&str> = calls.iter().map(|c| c.endpoint.name()).collect();
        let order_is = |want: &Option<Vec<String>>| {
            want.as_ref()
                .is_some_and(|w| order == w.iter().map(String::as_str).collect::<Vec<_>>())
        };
        // An upfront offer is held to its own order, and needs no /verify.
        let own_order = upfront && order_is(&f.upfront_order);
        if let Some(n) = f.verify
            && verify != n
            && !own_order
        {
            return fail(
                step,
                format!("{n} /verify call(s)"),
                format!("{verify}"),
                first,
            );
        }
        if let Some(n) = f.settle
            && settled != n
        {
            return fail(
                step,
                format!("{n} settlement(s)"),
                format!("{settled}"),
                first,
            );
        }
        if let Some(want) = &f.order
            && !order_is(&f.order)
            && !own_order
        {
            let expected = match (&f.upfront_order, upfront) {
                (Some(up), true) => format!("facilitator calls {want:?} or, upfront, {up:?}"),
                _ => format!("facilitator calls {want:?}"),
            };
            return fail(step, expected, format!("{order:?}"), first);
        }
    }
    None
}

/// A `[props]` scenario: runs the property and reports it as this check's outcome.
async fn run_props(p: &super::model::PropsSection, ctx: &Ctx) -> Outcome {
    let config = crate::props::PropsConfig {
        cases: p.cases.unwrap_or(500),
        seed: p.seed.unwrap_or(402),
        budget: p
            .time_budget
            .as_ref()
            .and_then(|b| crate::duration::parse_duration(b.get_ref()).ok())
            .unwrap_or(std::time::Duration::from_secs(60)),
        regressions: None,
    };
    let r = match p.property.get_ref().as_str() {
        "replay" => crate::props::replay_property(ctx, &config).await,
        _ => crate::props::payload_property(ctx, &config).await,
    };
    let mut o = match r.status {
        crate::catalogue::Status::Pass => Outcome::pass(r.message),
        crate::catalogue::Status::Fail => {
            let mut o = Outcome::fail(r.expected.unwrap_or_default(), r.actual.unwrap_or_default());
            o.message = r.message;
            o
        }
        crate::catalogue::Status::Unsupported => Outcome::unsupported(r.message),
        crate::catalogue::Status::NotExercised => Outcome::not_exercised(r.message),
        _ => Outcome::error(r.message),
    };
    o.exchanges = r.exchanges;
    o
}
