//! The L402 checks, one file per section (`challenge`, `credential`, `replay`, `hygiene`),
//! and the helpers they share. Both profiles share every check but the replay ones:
//! `l402` expects a paid credential to be reusable, `l402-single-use` expects it to work
//! once, however it is re-encoded. Some checks are scenario files (`scenarios/l402/`).

mod challenge;
mod credential;
mod hygiene;
mod replay;

use super::{Check, Ctx, Outcome};
use crate::payer::lightning::L402Payment;
use crate::protocol::l402::{Challenges, L402Challenge, read_challenges};
use crate::protocol::{L402Profile, Suite};
use crate::target::{Exchange, RouteSpec};

/// The source of most L402 requirements.
const SPEC: &str = "lightninglabs/L402 protocol-specification.md";

/// Every check of one L402 suite, in catalogue order.
pub(super) fn all(profile: L402Profile) -> Vec<Check> {
    let suite = Suite::L402(profile);
    let mut out = Vec::new();
    challenge::register(suite, &mut out);
    credential::register(suite, &mut out);
    replay::register(profile, &mut out);
    hygiene::register(suite, &mut out);
    out
}

/// The first paid route (the runner guarantees there is one).
fn paid(ctx: &Ctx) -> &RouteSpec {
    &ctx.target.paid[0]
}

/// A route's L402 challenges, read leniently, or the outcome that says why there are none.
async fn challenge(ctx: &Ctx, route: &RouteSpec) -> Result<(Challenges, Exchange), Outcome> {
    let ex = ctx.target.send(route, None, &[]).await;
    match read_challenges(&ex.headers_all("www-authenticate")) {
        Ok(c) => Ok((c, ex)),
        Err(e) => Err(Outcome::not_exercised(format!(
            "{route} gave no readable L402 challenge ({}; {e})",
            ex.describe()
        ))
        .with(&ex)),
    }
}

/// A paid credential for `route`: its challenge, paid through the mock Lightning backend.
async fn paid_credential(
    ctx: &Ctx,
    route: &RouteSpec,
) -> Result<(L402Challenge, L402Payment), Outcome> {
    let (challenges, _) = challenge(ctx, route).await?;
    let chosen = challenges.preferred().clone();
    let lightning = ctx
        .lightning
        .as_deref()
        .expect("the runner checks the Lightning need");
    let paid = ctx
        .payer
        .pay_l402(lightning, &chosen)
        .map_err(|e| Outcome::not_exercised(format!("paycheck cannot pay this invoice: {e}")))?;
    Ok((chosen, paid))
}

/// Sends an `Authorization` value to `route`.
async fn send_credential(ctx: &Ctx, route: &RouteSpec, value: &str) -> Exchange {
    ctx.target.send(route, Some(value), &[]).await
}

/// How a server answered a credential it must refuse.
enum Refusal {
    /// 401, as the specification says.
    Unauthorized,
    /// A fresh 402 challenge, as aperture and l402-kit answer (or another 4xx).
    Tolerated(String),
    /// Served, failed, or no answer.
    Wrong(String),
}

/// Classifies the answer to a credential that must be refused.
fn refusal(ex: &Exchange) -> Refusal {
    match ex.status {
        _ if ex.error.is_some() => Refusal::Wrong(ex.describe()),
        401 => Refusal::Unauthorized,
        402 if read_challenges(&ex.headers_all("www-authenticate")).is_ok() => {
            Refusal::Tolerated("402 with a fresh challenge".into())
        }
        402 => Refusal::Wrong("402 without a readable challenge".into()),
        400..=499 => Refusal::Tolerated(ex.describe()),
        _ => Refusal::Wrong(ex.describe()),
    }
}

/// Grades the answers to credentials that must all be refused (`what` names each one):
/// pass when every one is a 401; a lenient pass (a failure with `--strict`) when some got a
/// fresh 402 or another 4xx; a failure when any was served, failed or went unanswered.
fn all_refused(answers: &[(String, Exchange)]) -> Outcome {
    let mut tolerated = Vec::new();
    for (what, ex) in answers {
        match refusal(ex) {
            Refusal::Unauthorized => {}
            Refusal::Tolerated(how) => tolerated.push((what, how, ex)),
            Refusal::Wrong(how) => {
                return Outcome::fail(format!("{what} refused with 401"), how).with(ex);
            }
        }
    }
    match tolerated.first() {
        None => Outcome::pass(format!("{} refused with 401", answers.len())),
        Some((what, how, ex)) => Outcome::lenient(
            format!("{what} refused with 401, as the specification says"),
            format!("{how} (refused, as aperture and l402-kit do)"),
        )
        .with(ex),
    }
}
