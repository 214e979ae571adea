//! Property tests of a server, with proptest shrinking a failure to its smallest case:
//! x402 payments ([`x402`]: generated payments and replays) and L402 credentials
//! ([`l402`]: generated credentials and reuse). Each property is reported as one check,
//! `SUITE/props/payload` or `SUITE/props/replay`; minimal failing cases are stored in
//! `fixtures/regressions/SUITE.jsonl` and replayed first.

pub mod l402;
mod regressions;
pub mod x402;

use crate::catalogue::runner::CheckResult;
use crate::catalogue::{Ctx, Level, Status};
use crate::target::Exchange;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use x402::edits;

/// How much to explore.
#[derive(Debug, Clone)]
pub struct PropsConfig {
    /// Generated cases per property (before shrinking).
    pub cases: u32,
    /// The seed; the same seed generates the same cases.
    pub seed: u64,
    /// Wall-time cap per property; cases past it are skipped and counted.
    pub budget: Duration,
    /// Where minimal failing cases are stored and replayed first (`SUITE.jsonl`).
    pub regressions: Option<PathBuf>,
}

/// A property's name (the check id's last part), title, requirement, level and source.
struct Property {
    name: &'static str,
    title: &'static str,
    requirement: &'static str,
    level: Level,
    source: &'static str,
}

/// The payload property of the target's suite: generated payments or credentials.
pub async fn payload_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    if ctx.target.suite.l402_profile().is_some() {
        l402::credential_property(ctx, config).await
    } else {
        x402::payload_property(ctx, config).await
    }
}

/// The replay property of the target's suite.
pub async fn replay_property(ctx: &Ctx, config: &PropsConfig) -> CheckResult {
    if ctx.target.suite.l402_profile().is_some() {
        l402::replay_property(ctx, config).await
    } else {
        x402::replay_property(ctx, config).await
    }
}

/// A refusal names its reason: an `error` in the JSON body, in an x402 challenge, or a
/// fresh L402 challenge.
fn has_reason(ctx: &Ctx, ex: &Exchange) -> bool {
    let body_error = serde_json::from_str::<serde_json::Value>(&ex.body)
        .ok()
        .and_then(|b| {
            b.get("error")
                .and_then(|e| e.as_str().map(|s| !s.trim().is_empty()))
        })
        .unwrap_or(false);
    body_error
        || match ctx
            .target
            .read_challenge(ex, crate::protocol::Mode::Lenient)
        {
            Ok(crate::target::Challenge::L402(_)) => true,
            Ok(c) => c.error().is_some_and(|e| !e.trim().is_empty()),
            Err(_) => false,
        }
}

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// A runner of `cases` cases from `seed`: nothing persisted (regressions are paycheck's
/// own), shrinking bounded.
fn runner(cases: u32, seed: u64) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 512,
            ..Config::default()
        },
        rng(seed),
    )
}

/// A property's case loop as a check result: a pass with its summary; a shrunk failure as
/// `explain` tells it; a loop that gave up as `gave_up` says (status and message); a
/// broken loop as an error.
#[allow(clippy::too_many_arguments)]
async fn conclude<V, Fut>(
    ctx: &Ctx,
    p: &Property,
    outcome: Outcome<V>,
    executed: u32,
    config: &PropsConfig,
    started: Instant,
    gave_up: impl FnOnce(String) -> (Status, String),
    explain: impl FnOnce(String, V) -> Fut,
) -> CheckResult
where
    Fut: Future<Output = CheckResult>,
{
    let (status, message) = match outcome {
        Ok(Ok(())) => (Status::Pass, summary(executed, config, started)),
        Ok(Err(TestError::Fail(why, minimal))) => return explain(why.to_string(), minimal).await,
        Ok(Err(TestError::Abort(why))) => gave_up(why.to_string()),
        Err(e) => (Status::Error, format!("the case loop failed: {e}")),
    };
    result(ctx, p, status, message, vec![], started)
}

/// A replay-like property's failure: the shrunk plan, with the seed that finds it.
fn plan_failure(
    ctx: &Ctx,
    p: &Property,
    why: String,
    plan: impl Debug,
    seed: u64,
    started: Instant,
) -> CheckResult {
    let mut r = result(
        ctx,
        p,
        Status::Fail,
        format!("{why} (minimal plan {plan:?}, seed {seed})"),
        vec![],
        started,
    );
    r.expected = Some(p.requirement.into());
    r.actual = Some(why);
    r
}

fn result(
    ctx: &Ctx,
    p: &Property,
    status: Status,
    message: String,
    exchanges: Vec<Exchange>,
    started: Instant,
) -> CheckResult {
    CheckResult {
        id: format!("{}/props/{}", ctx.target.suite.id(), p.name),
        section: "props".into(),
        title: p.title.into(),
        level: p.level,
        requirement: p.requirement.into(),
        source: p.source.into(),
        status,
        message,
        expected: None,
        actual: None,
        exchanges: exchanges.iter().map(Exchange::evidence).collect(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// What proptest's runner came to: held, or failed with the minimal value (or could not run).
type Outcome<V> = Result<Result<(), TestError<V>>, String>;

/// Runs proptest's synchronous runner from async code: the worker thread turns into a
/// blocking one for the run, and each case waits on its requests with `block_on`. `case`
/// gives a case's violation (None: it held) or why it could not be set up (`reject` turns
/// that into proptest's rejection). Cases past the time budget are skipped; the count of
/// those run comes back with the outcome.
fn drive<S: Strategy, Fut>(
    runner: &mut TestRunner,
    strategy: &S,
    budget: (Instant, Duration),
    reject: impl Fn(String) -> TestCaseError,
    case: impl Fn(S::Value) -> Fut,
) -> (Outcome<S::Value>, u32)
where
    Fut: Future<Output = Result<Option<String>, String>>,
{
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
        return (
            Err("property tests need a multi-thread tokio runtime".into()),
            0,
        );
    }
    let executed = AtomicU32::new(0);
    let outcome = tokio::task::block_in_place(|| {
        runner.run(strategy, |value| {
            if budget.0.elapsed() > budget.1 {
                return Ok(());
            }
            executed.fetch_add(1, Ordering::Relaxed);
            match handle.block_on(case(value)).map_err(&reject)? {
                Some(v) => Err(TestCaseError::fail(v)),
                None => Ok(()),
            }
        })
    });
    (Ok(outcome), executed.into_inner())
}

fn summary(executed: u32, config: &PropsConfig, started: Instant) -> String {
    let skipped = config.cases.saturating_sub(executed);
    let mut s = format!(
        "{executed} generated cases held (seed {}, {:.1} s)",
        config.seed,
        started.elapsed().as_secs_f64()
    );
    if skipped > 0 {
        s.push_str(&format!("; {skipped} skipped past the time budget"));
    }
    s
}
