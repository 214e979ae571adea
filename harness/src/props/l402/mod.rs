//! L402 properties: generated credentials (a paid one changed in up to three ways) and
//! reuse plans, against properties every L402 server keeps.
//!
//! Every answer is clean: no 5xx, no dropped connection, no internals, a reason on every
//! 4xx. A credential that does not prove payment for this service now (judged on the
//! header as sent, [`judge`]) is never served; the paid credential itself is. Reuse: in
//! the `l402` profile a paid credential keeps working, sequentially and concurrently (a
//! SHOULD); in `l402-single-use` it is served once, however it is replayed.

pub mod edits;
pub mod judge;

use super::{
    Property, PropsConfig, conclude, drive, has_reason, plan_failure, regressions, result, runner,
};
use crate::catalogue::runner::CheckResult;
use crate::catalogue::{Ctx, Level, Status};
use crate::protocol::L402Profile;
use crate::protocol::l402::{Token, read_challenges};
use crate::target::Exchange;
use edits::{CredEdit, PaidParts, apply, case};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::sync::Mutex;
use std::time::Instant;

const SOURCE: &str =
    "lightninglabs/L402 protocol-specification.md §4.1, §5.2, §6.1, §9; macaroons.md (caveats)";

const CREDENTIAL: Property = Property {
    name: "payload",
    title: "generated credentials are judged safely",
    requirement: "Every answer to a credential is a clean, reasoned answer without a 5xx; a credential that does not prove payment for this service now is never served; the paid one is.",
    level: Level::Must,
    source: SOURCE,
};

const REUSE: Property = Property {
    name: "replay",
    title: "a paid credential keeps working",
    requirement: "A paid credential is served again, one use after another and among concurrent copies, until its caveats say otherwise.",
    level: Level::Should,
    source: SOURCE,
};

const SINGLE_USE: Property = Property {
    name: "replay",
    title: "a used credential is never served again",
    requirement: "A credential served once is refused when sent again, at once, after other credentials or among concurrent copies.",
    level: Level::Must,
    source: "l402-single-use profile (l402-kit's replay protection)",
};

/// Pays a new challenge of the first paid route: the parts of a fresh paid credential.
async fn fresh(ctx: &Ctx) -> Result<PaidParts, String> {
    let route = &ctx.target.paid[0];
    let lightning = ctx
        .lightning
        .as_deref()
        .ok_or("needs paycheck's mock Lightning backend (--spawn or --lightning-wired)")?;
    let ex = ctx.target.send(route, None, &[]).await;
    let challenges = read_challenges(&ex.headers_all("www-authenticate"))
        .map_err(|e| format!("no challenge to pay ({}): {e}", ex.describe()))?;
    let chosen = challenges.preferred();
    let paid = ctx
        .payer
        .pay_l402(lightning, chosen)
        .map_err(|e| e.to_string())?;
    let preimage: [u8; 32] = alloy::primitives::hex::decode(&paid.preimage_hex)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "a preimage is 32 bytes".to_string())?;
    Ok(PaidParts {
        macaroon: Token::read(&chosen.token)
            .ok()
            .and_then(|t| t.macaroon().cloned()),
        token: chosen.token.clone(),
        preimage,
    })
}

/// Rejects a case that could not be set up (no credential to start from), keeping why.
fn reject(last: &Mutex<Option<String>>, why: String) -> TestCaseError {
    *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
    TestCaseError::reject(why)
}

/// Why a run stopped with too many cases it could not set up, and what to do.
fn aborted(why: &str, last: &Mutex<Option<String>>) -> String {
    let last = last
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    let hint = if last.contains("429") {
        "; the server rate-limits invoice creation, and each case pays a fresh invoice: run the properties against a server without that limit (paycheck serve-reference --no-invoice-rate-limit)"
    } else {
        ""
    };
    format!("stopped: {why} (last: {last}){hint}")
}

/// A ready-to-run command that sends a credential again.
fn curl(ctx: &Ctx, header: &str) -> String {
    let route = &ctx.target.paid[0];
    format!(
        "curl -i -X {} '{}{}' -H 'Authorization: {}'",
        route.method,
        ctx.target.base_url,
        route.path,
        header.replace('\'', "'\\''").replace('\t', "'$'\\t''")
    )
}

/// What a case did.
struct Ran {
    violation: Option<String>,
    exchange: Exchange,
    header: String,
}

fn judge_answer(
    ctx: &Ctx,
    ex: &Exchange,
    must_refuse: Option<&str>,
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
    if let Some(why) = must_refuse
        && ex.is_success()
    {
        return Some(format!(
            "a credential that must be refused ({why}) was served ({})",
            ex.describe()
        ));
    }
    if control && !ex.is_success() {
        return Some(format!("the paid credential got {}", ex.describe()));
    }
    None
}

/// Runs one case: the paid credential (fresh for a single-use server) with `edits`.
async fn run_case(
    ctx: &Ctx,
    shared: Option<&PaidParts>,
    edits: &[CredEdit],
) -> Result<Ran, String> {
    let paid = match shared {
        Some(p) => p.clone(),
        None => fresh(ctx).await?,
    };
    let header = apply(&paid, edits);
    let must_refuse = judge::must_refuse(&paid, &header, crate::payer::unix_now());
    let ex = ctx
        .target
        .send(&ctx.target.paid[0], Some(&header), &[])
        .await;
    let violation = judge_answer(ctx, &ex, must_refuse.as_deref(), edits.is_empty());
    Ok(Ran {
        violation,
        exchange: ex,
        header,
    })
}

fn failure(
    ctx: &Ctx,
    edits: &[CredEdit],
    ran: &Ran,
    violation: String,
    origin: &str,
    started: Instant,
) -> CheckResult {
    let edits_json = serde_json::to_string(edits).unwrap_or_default();
    let message = format!(
        "{violation}\n  minimal case ({origin}): {edits_json}\n  reproduce: {}",
        curl(ctx, &ran.header)
    );
    let mut r = result(
        ctx,
        &CREDENTIAL,
        Status::Fail,
        message,
        vec![ran.exchange.clone()],
        started,
    );
    r.expected = Some("every property to hold".into());
    r.actual = Some(format!("{violation}; minimal case {edits_json}"));
    r
}

/// The credential property over generated cases.
pub async fn credential_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    let started = Instant::now();
    let single_use = ctx.target.suite.l402_profile() == Some(L402Profile::SingleUse);
    // A reusable credential serves every case; a single-use server needs one per case.
    let shared = if single_use {
        None
    } else {
        match fresh(ctx).await {
            Ok(p) => Some(p),
            Err(e) => {
                let status = if ctx.lightning.is_none() {
                    Status::Unsupported
                } else {
                    Status::NotExercised
                };
                return result(ctx, &CREDENTIAL, status, e, vec![], started);
            }
        }
    };
    let suite = ctx.target.suite.id();
    for edits in regressions::load::<CredEdit>(config.regressions.as_deref(), suite) {
        if let Ok(ran) = run_case(ctx, shared.as_ref(), &edits).await
            && let Some(v) = ran.violation.clone()
        {
            return failure(ctx, &edits, &ran, v, "a stored regression", started);
        }
    }
    let rejected = Mutex::new(None);
    let mut runner = runner(config.cases, config.seed);
    let budget = (started, config.budget);
    let shared_ref = shared.as_ref();
    let (outcome, n) = drive(
        &mut runner,
        &case(),
        budget,
        |e| reject(&rejected, e),
        |edits| async move { Ok(run_case(ctx, shared_ref, &edits).await?.violation) },
    );
    let gave_up = |why: String| (Status::NotExercised, aborted(&why, &rejected));
    conclude(
        ctx,
        &CREDENTIAL,
        outcome,
        n,
        config,
        started,
        gave_up,
        |_, edits| async move {
            regressions::store(config.regressions.as_deref(), suite, &edits);
            match run_case(ctx, shared.as_ref(), &edits).await {
                Ok(ran) => {
                    let v = ran
                        .violation
                        .clone()
                        .unwrap_or_else(|| "the minimal case did not fail again".into());
                    let origin = format!("seed {}", config.seed);
                    failure(ctx, &edits, &ran, v, &origin, started)
                }
                Err(e) => result(ctx, &CREDENTIAL, Status::Error, e, vec![], started),
            }
        },
    )
    .await
}

/// How a paid credential is used again.
#[derive(Debug, Clone, Copy)]
enum Reuse {
    /// Right after it was served.
    AtOnce,
    /// After this many other paid credentials were used.
    AfterOthers(u8),
    /// As this many concurrent copies, the first use of the credential.
    Concurrent(u8),
}

fn reuse_plan() -> impl Strategy<Value = Reuse> {
    prop_oneof![
        Just(Reuse::AtOnce),
        (1u8..=3).prop_map(Reuse::AfterOthers),
        (2u8..=8).prop_map(Reuse::Concurrent)
    ]
}

/// Runs one plan; the violation, if any.
async fn run_reuse(ctx: &Ctx, plan: Reuse, single_use: bool) -> Result<Option<String>, String> {
    let route = &ctx.target.paid[0];
    let paid = fresh(ctx).await?;
    let header = apply(&paid, &[]);
    if let Reuse::Concurrent(n) = plan {
        // A slow backend widens the race, as in the replay/concurrent check.
        let lightning = ctx.lightning.as_deref().expect("fresh() needs it");
        lightning
            .faults()
            .set(vec!["lookup=latency:100ms".parse().expect("a valid rule")]);
        let answers =
            futures::future::join_all((0..n).map(|_| ctx.target.send(route, Some(&header), &[])))
                .await;
        lightning.faults().clear();
        let served = answers.iter().filter(|e| e.is_success()).count();
        let violated = if single_use {
            served > 1
        } else {
            served < usize::from(n)
        };
        return Ok(violated.then(|| format!("{n} concurrent copies: {served} served")));
    }
    let first = ctx.target.send(route, Some(&header), &[]).await;
    if !first.is_success() {
        return Ok(Some(format!(
            "the paid credential got {}",
            first.describe()
        )));
    }
    if let Reuse::AfterOthers(k) = plan {
        for _ in 0..k {
            let other = fresh(ctx).await?;
            ctx.target.send(route, Some(&apply(&other, &[])), &[]).await;
        }
    }
    let again = ctx.target.send(route, Some(&header), &[]).await;
    let violated = if single_use {
        again.is_success()
    } else {
        !again.is_success()
    };
    Ok(violated.then(|| {
        format!(
            "{plan:?}: the credential used again got {}",
            again.describe()
        )
    }))
}

/// The reuse property over generated plans: reusable (`l402`) or single-use.
pub async fn replay_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    let started = Instant::now();
    let single_use = ctx.target.suite.l402_profile() == Some(L402Profile::SingleUse);
    let p = if single_use { &SINGLE_USE } else { &REUSE };
    if ctx.lightning.is_none() {
        return result(
            ctx,
            p,
            Status::Unsupported,
            "needs paycheck's mock Lightning backend (--spawn or --lightning-wired)".into(),
            vec![],
            started,
        );
    }
    let rejected = Mutex::new(None);
    // Plans are costlier than single cases (several requests each): a tenth as many.
    let config = PropsConfig {
        cases: (config.cases / 10).max(8),
        ..config.clone()
    };
    let mut runner = runner(config.cases, config.seed ^ 0x5eed);
    let budget = (started, config.budget);
    let (outcome, n) = drive(
        &mut runner,
        &reuse_plan(),
        budget,
        |e| reject(&rejected, e),
        |plan| run_reuse(ctx, plan, single_use),
    );
    let gave_up = |why: String| (Status::NotExercised, aborted(&why, &rejected));
    conclude(
        ctx,
        p,
        outcome,
        n,
        &config,
        started,
        gave_up,
        |why, plan| async move { plan_failure(ctx, p, why, plan, config.seed, started) },
    )
    .await
}
