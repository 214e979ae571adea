//! The x402 checks (v2, v1 and t402), one file per section, and the helpers they share.

mod binding;
mod bypass;
mod hygiene;
mod payment;
mod rejection;
mod replay;
mod replicas;
mod resilience;
mod retry;
mod signal;

use super::spec::{Spec, add, body};
use super::{Check, Ctx, Outcome, leak_in};
use crate::mocks::MockFacilitator;
use crate::mocks::facilitator::faults::FaultRule;
use crate::payer::WrongPayment;
use crate::protocol::Dialect;
use crate::target::{Challenge, Exchange, PaymentHeader, RouteSpec};

/// Every check of one suite, in catalogue order.
pub(super) fn all(dialect: Dialect) -> Vec<Check> {
    let mut out = Vec::new();
    signal::register(dialect, &mut out);
    payment::register(dialect, &mut out);
    rejection::register(dialect, &mut out);
    binding::register(dialect, &mut out);
    bypass::register(dialect, &mut out);
    replay::register(dialect, &mut out);
    replicas::register(dialect, &mut out);
    resilience::register(dialect, &mut out);
    hygiene::register(dialect, &mut out);
    // Last: retry/crash-restart restarts the server, and a server that does not come
    // back should cost no other check its verdict.
    retry::register(dialect, &mut out);
    out
}

/// The source citation of a dialect's HTTP transport.
fn transport(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::X402V1 => "x402 transports-v1/http.md",
        Dialect::X402V2 => "x402 transports-v2/http.md",
        Dialect::T402 => "x402 transports-v2/http.md (t402 keeps the x402 v2 headers)",
        Dialect::T402V1 => "x402 transports-v1/http.md (t402 v1 keeps the x402 v1 headers)",
    }
}

/// The first paid route (the runner guarantees there is one).
fn paid(ctx: &Ctx) -> &RouteSpec {
    &ctx.target.paid[0]
}

/// The mock facilitator (the runner guarantees it for checks that need it).
fn facilitator(ctx: &Ctx) -> &MockFacilitator {
    ctx.facilitator.as_deref().expect("the runner checks needs")
}

/// A route's challenge, or the outcome that says why there is none to pay.
async fn offer(ctx: &Ctx, route: &RouteSpec) -> Result<(Challenge, Exchange), Outcome> {
    ctx.target.challenge(route).await.map_err(|(e, ex)| {
        Outcome::not_exercised(format!(
            "{route} gave no readable challenge ({}; {e})",
            ex.describe()
        ))
        .with(&ex)
    })
}

/// A payment for a challenge, or the outcome that says why it cannot be made.
fn pay(
    ctx: &Ctx,
    challenge: &Challenge,
    wrong: Option<&WrongPayment>,
) -> Result<PaymentHeader, Outcome> {
    ctx.pay(challenge, wrong)
        .map_err(|e| Outcome::not_exercised(format!("paycheck cannot pay this offer: {e}")))
}

/// A valid payment for `route`, with the offer it pays.
async fn valid_payment_for(
    ctx: &Ctx,
    route: &RouteSpec,
) -> Result<(Challenge, PaymentHeader), Outcome> {
    let (challenge, _) = offer(ctx, route).await?;
    let payment = pay(ctx, &challenge, None)?;
    Ok((challenge, payment))
}

/// A valid payment for the first paid route.
async fn valid_payment(ctx: &Ctx) -> Result<(Challenge, PaymentHeader), Outcome> {
    valid_payment_for(ctx, paid(ctx)).await
}

/// Pays the first paid route validly and sends the payment once.
async fn pay_first_route(ctx: &Ctx) -> Result<(PaymentHeader, Exchange), Outcome> {
    let (_, payment) = valid_payment(ctx).await?;
    let ex = ctx.target.send(paid(ctx), Some(&payment.value), &[]).await;
    Ok((payment, ex))
}

/// Pays the first paid route validly and requires it served: the answer to grade, or
/// "not exercised" when the valid payment itself was not served.
async fn served_payment(ctx: &Ctx) -> Result<(PaymentHeader, Exchange), Outcome> {
    let (payment, ex) = pay_first_route(ctx).await?;
    if !ex.is_success() {
        return Err(Outcome::not_exercised(format!(
            "the valid payment was not served ({})",
            ex.describe()
        ))
        .with(&ex));
    }
    Ok((payment, ex))
}

/// Sets fault rules on the mock facilitator for the life of the guard.
struct Faults<'a>(&'a MockFacilitator);

impl<'a> Faults<'a> {
    fn set(facilitator: &'a MockFacilitator, rules: &[&str]) -> Self {
        let rules = rules
            .iter()
            .map(|r| r.parse::<FaultRule>().expect("catalogue rules parse"))
            .collect();
        facilitator.faults().set(rules);
        Faults(facilitator)
    }
}

impl Drop for Faults<'_> {
    fn drop(&mut self) {
        self.0.faults().clear();
    }
}

/// How many times a payment was settled, when the facilitator is known.
fn settlements(ctx: &Ctx, nonce: &str) -> Option<usize> {
    ctx.facilitator
        .as_deref()
        .map(|f| f.journal().settlements_of(nonce))
}
