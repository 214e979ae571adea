//! The checks: each has a stable id, the requirement sentence it checks, its level and its
//! source, and grades one behaviour of the server under test.
//!
//! Ids are `SUITE/SECTION/NAME`, as `x402-v2/replay/sequential`. A check asks [`Ctx`] for
//! the target, a payer and the facilitator's journal, and returns an [`Outcome`]; the
//! [`runner`] grades it by level (`--strict` makes SHOULD misses count).

mod l402;
pub mod money_path;
pub mod outcome;
pub mod runner;
mod spec;
mod x402;

use crate::mocks::{MockFacilitator, MockLightning};
use crate::payer::{PayError, Payer, WrongPayment};
use crate::protocol::Suite;
use crate::target::Target;
use crate::target::restart::Restart;
use crate::target::{Challenge, PaymentHeader};
pub use outcome::{Outcome, Status};
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// How binding a requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Level {
    /// MUST or MUST NOT (or a "Required" field) in the specification.
    Must,
    /// SHOULD, or where reference implementations disagree with the letter.
    Should,
    /// An operations practice, not in the specification.
    BestPractice,
    /// Informational.
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::BestPractice => "BEST-PRACTICE",
            Level::Info => "INFO",
        })
    }
}

/// Something a check needs that a run may not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// The server uses paycheck's mock facilitator (so its journal and faults are known).
    Facilitator,
    /// A free route was named (`--free`).
    FreeRoute,
    /// A paid request whose handler fails was named (`--failing`).
    FailingRoute,
    /// A paid request whose handler answers 201 or 202 was named (`--queued`).
    QueuedRoute,
    /// Two paid routes with different prices were named.
    TwoPrices,
    /// The server uses paycheck's mock Lightning backend (so paycheck can pay its invoices).
    Lightning,
    /// The server runs as two or more replicas (`--replicas`).
    Replicas,
    /// paycheck can crash the server and start it again (`--spawn`, or the embedded one).
    Restart,
}

impl Need {
    /// What the user can do to provide it.
    pub fn how(&self) -> &'static str {
        match self {
            Need::Facilitator => {
                "needs paycheck's mock facilitator: use --spawn, or --facilitator-wired if the server already uses it"
            }
            Need::FreeRoute => "needs a free route: pass --free 'GET /health'",
            Need::FailingRoute => {
                "needs a paid request whose handler fails: pass --failing 'POST /compute {\"fail\":true}'"
            }
            Need::QueuedRoute => {
                "needs a paid request whose handler answers 201 or 202: pass --queued 'POST /jobs {}'"
            }
            Need::Replicas => {
                "needs the server as two or more replicas: pass --replicas 2 with --spawn"
            }
            Need::Restart => {
                "needs a server paycheck can kill and start again: use --spawn CMD (a --target server is not paycheck's to kill)"
            }
            Need::TwoPrices => "needs two paid routes with different prices: pass --paid twice",
            Need::Lightning => {
                "needs paycheck's mock Lightning backend to pay invoices: use --spawn (the server gets LIGHTNING_URL), or --lightning-wired if the server already uses it"
            }
        }
    }
}

/// What a check can use.
pub struct Ctx {
    /// The server under test.
    pub target: Target,
    /// The mock facilitator the server uses, when it uses paycheck's.
    pub facilitator: Option<Arc<MockFacilitator>>,
    /// The mock Lightning backend the server uses, when it uses paycheck's.
    pub lightning: Option<Arc<MockLightning>>,
    /// The payer.
    pub payer: Payer,
    /// The server's other replicas (`--replicas`): the same command on other ports,
    /// paying through the same mocks. Empty for a single server.
    pub replicas: Vec<Target>,
    /// How to crash the server and start it again, when paycheck runs it.
    pub restart: Option<Arc<dyn Restart>>,
}

impl Ctx {
    /// Makes every replica the primary target on its own port: the same suite (after
    /// preflight), routes, timeouts and limits.
    pub fn align_replicas(&mut self) {
        for replica in &mut self.replicas {
            let base = std::mem::take(&mut replica.base_url);
            *replica = self.target.clone();
            replica.base_url = base;
        }
    }

    /// A payment for a challenge: an x402 offer signed (wrong as asked), or an L402
    /// invoice paid through the mock Lightning backend.
    pub fn pay(
        &self,
        challenge: &Challenge,
        wrong: Option<&WrongPayment>,
    ) -> Result<PaymentHeader, PayError> {
        let Challenge::L402(challenges) = challenge else {
            return self.target.pay(&self.payer, challenge, wrong);
        };
        if wrong.is_some() {
            return Err(PayError::Unpayable(
                "wrong payments are x402 payments; L402 checks make their own wrong credentials"
                    .into(),
            ));
        }
        let lightning = self
            .lightning
            .as_deref()
            .ok_or_else(|| PayError::Unpayable(Need::Lightning.how().to_string()))?;
        let paid = self.payer.pay_l402(lightning, challenges.preferred())?;
        Ok(PaymentHeader::opaque(paid.credential, paid.payment_hash))
    }
}

/// A boxed check future.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;
/// A check's body.
pub type CheckFn = Arc<dyn for<'a> Fn(&'a Ctx) -> CheckFuture<'a> + Send + Sync>;

/// One check of the catalogue.
#[derive(Clone)]
pub struct Check {
    /// Stable id, `SUITE/SECTION/NAME`.
    pub id: String,
    /// The section, for grouping.
    pub section: String,
    /// A short title.
    pub title: String,
    /// How binding it is.
    pub level: Level,
    /// The requirement sentence it checks.
    pub requirement: String,
    /// Where the requirement comes from.
    pub source: String,
    /// What it needs.
    pub needs: Vec<Need>,
    /// The body.
    pub run: CheckFn,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("level", &self.level)
            .finish()
    }
}

/// Every check of one suite: the checks written in Rust and the built-in scenario files,
/// each scenario placed after the last check of its section.
pub fn catalogue(suite: impl Into<Suite>) -> Vec<Check> {
    let suite = suite.into();
    let checks = match suite {
        Suite::X402(dialect) => x402::all(dialect),
        Suite::L402(profile) => l402::all(profile),
    };
    with_scenarios(checks, &crate::scenario::builtin(), suite)
}

/// Sections whose checks use up what a server allows (a rate limit's budget): they run
/// after every other check, so that no other check meets the limit they reached.
pub const LAST_SECTIONS: &[&str] = &["limits"];

/// Adds scenario checks to `checks`, keeping sections together and [`LAST_SECTIONS`] last.
pub fn with_scenarios(
    mut checks: Vec<Check>,
    scenarios: &[crate::scenario::Scenario],
    suite: impl Into<Suite>,
) -> Vec<Check> {
    let suite = suite.into();
    for check in scenarios.iter().filter_map(|s| s.check(suite)) {
        match checks.iter().rposition(|c| c.section == check.section) {
            Some(i) => checks.insert(i + 1, check),
            None => checks.push(check),
        }
    }
    let (last, mut ordered): (Vec<Check>, Vec<Check>) = checks
        .into_iter()
        .partition(|c| LAST_SECTIONS.contains(&c.section.as_str()));
    ordered.extend(last);
    ordered
}

/// Markers of a stack trace or internal detail in a body.
const LEAKS: &[&str] = &[
    "panicked at",
    "Traceback (most recent call last)",
    "stack backtrace",
    "    at ",
    "node_modules/",
    ".rs:",
    ".py\", line",
    "Exception in thread",
];

/// The first internal-detail marker found in `body` (stack traces, file paths).
pub fn leak_in(body: &str) -> Option<&'static str> {
    LEAKS.iter().copied().find(|m| body.contains(m))
}
