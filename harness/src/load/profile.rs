//! Load profiles (TOML; JSON Schema in `schemas/load-profile.schema.json`): phases in an
//! open model (arrival rate, ramp and hold) or a closed one (users, hatch rate), a weighted
//! mix of transactions, thresholds, and the bounds every run stops within. A mistake is
//! reported at its file, line and column.
//!
//! ```toml
//! name = "smoke"
//! suite = "x402-v2"                 # the protocol the server speaks
//! model = "open"                    # or "closed": users (goose, or engine = "paycheck")
//!
//! [[phase]]
//! name = "ramp"
//! rate = { from = 50, to = 400 }    # arrivals per second, ramped over the phase
//! duration = "3s"
//!
//! [[phase]]
//! name = "hold"
//! rate = 400
//! duration = "5s"
//!
//! [mix]                             # weights
//! unpaid = 6
//! paid = 3
//! free = 1
//!
//! [thresholds]
//! "unpaid.p99" = "< 100ms"
//! "errors.rate" = "< 0.1%"
//! ```

use super::thresholds::Threshold;
use crate::file_error::FileError;
use crate::mocks::facilitator::faults::FaultRule;
use crate::mocks::lightning::LnFaultRule;
use crate::protocol::{Dialect, Suite};
use crate::target::RouteSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// One kind of request in the mix.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Txn {
    /// The paid route without payment: a 402.
    Unpaid,
    /// The paid route with a fresh payment (x402) or a paid credential (L402).
    Paid,
    /// The free route.
    Free,
    /// The paid route with a payment already used.
    Replay,
}

impl Txn {
    /// Every transaction, in report order.
    pub const ALL: [Txn; 4] = [Txn::Unpaid, Txn::Paid, Txn::Free, Txn::Replay];

    /// The name in profiles, thresholds and reports.
    pub fn name(self) -> &'static str {
        match self {
            Txn::Unpaid => "unpaid",
            Txn::Paid => "paid",
            Txn::Free => "free",
            Txn::Replay => "replay",
        }
    }

    /// Its position in [`Txn::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    fn from_name(s: &str) -> Option<Txn> {
        Txn::ALL.into_iter().find(|t| t.name() == s)
    }
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Requests arrive at a set rate, whatever the answers do (paycheck's own executor).
    Open,
    /// A number of users each send one request after another (goose, or paycheck's own).
    Closed,
}

/// What runs a closed model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// A GooseAttack (the default): goose's users, and its HTML report beside ours.
    Goose,
    /// paycheck's own lean users, one HTTP/1.1 connection each: for many thousands of users
    /// (about 13 KB a user, where goose's cost about 60 KB). The open model always runs on
    /// paycheck's own executor.
    Paycheck,
}

/// One phase of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Phase {
    /// Its name, for reports.
    pub name: String,
    /// How long it lasts.
    #[serde(serialize_with = "as_ms")]
    pub duration: Duration,
    /// Open model: arrivals per second at the start and at the end (equal when held).
    pub rate: Option<(f64, f64)>,
    /// Closed model: users, and how many start per second.
    pub users: Option<(u32, f64)>,
}

impl Phase {
    /// How long its ramp from `before` users lasts: its users' change at its hatch rate,
    /// in whole seconds as goose's test plan counts (zero for an open-model phase).
    pub fn ramp_from(&self, before: u32) -> Duration {
        match self.users {
            Some((users, hatch)) => {
                let secs = (f64::from(users.abs_diff(before)) / hatch).ceil();
                Duration::from_secs_f64(secs.min(MAX_DURATION.as_secs_f64() * 2.0))
            }
            None => Duration::ZERO,
        }
    }
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// A validated load profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Where it was read from.
    pub file: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The protocol the server speaks.
    pub suite: Suite,
    /// Open or closed.
    pub model: Model,
    /// What runs it (the open model: always paycheck).
    pub engine: Engine,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// The weight of each transaction, indexed by [`Txn::index`].
    pub mix: [u32; 4],
    /// The paid route (default: the embedded server's `GET /premium`).
    pub paid_route: Option<RouteSpec>,
    /// The free route (default: the embedded server's `GET /health`).
    pub free_route: Option<RouteSpec>,
    /// What must hold.
    pub thresholds: Vec<Threshold>,
    /// When set, a missed threshold stops the run after this long.
    pub abort_after: Option<Duration>,
    /// Open model: requests in flight at most (an arrival past it is dropped).
    pub max_in_flight: usize,
    /// No run sends more requests than this.
    pub max_requests: u64,
    /// Fresh payments made before the run (default: as many as the phases need).
    pub pool: Option<usize>,
    /// Each request gives up after this.
    pub timeout: Duration,
    /// After the last phase, requests in flight get this long to finish.
    pub drain: Duration,
    /// Check every answer (a valid 402, a receipt on a paid answer, …).
    pub validate: bool,
    /// Faults the mock facilitator applies during the run.
    pub facilitator_faults: Vec<FaultRule>,
    /// Faults the mock Lightning backend applies during the run.
    pub lightning_faults: Vec<LnFaultRule>,
}

impl Profile {
    /// Each phase's length: its ramp (closed model), then its duration.
    pub fn spans(&self) -> Vec<Duration> {
        let mut before = 0;
        self.phases
            .iter()
            .map(|p| {
                let ramp = p.ramp_from(before);
                before = p.users.map_or(0, |u| u.0);
                ramp + p.duration
            })
            .collect()
    }

    /// How long the phases last in all, ramps included.
    pub fn duration(&self) -> Duration {
        self.spans().into_iter().sum()
    }

    /// The share of the mix that `txn` gets.
    pub fn share(&self, txn: Txn) -> f64 {
        let total: u32 = self.mix.iter().sum();
        f64::from(self.mix[txn.index()]) / f64::from(total.max(1))
    }

    /// Open model: the number of arrivals the phases schedule.
    pub fn scheduled_arrivals(&self) -> f64 {
        self.phases
            .iter()
            .filter_map(|p| {
                p.rate
                    .map(|(a, b)| (a + b) / 2.0 * p.duration.as_secs_f64())
            })
            .sum()
    }

    /// The share `index` (1-based) of `count` shards runs: rates and users divided, the
    /// request bound too.
    pub fn shard(&mut self, index: u32, count: u32) {
        let n = f64::from(count);
        for p in &mut self.phases {
            if let Some((a, b)) = p.rate.as_mut().map(|r| (&mut r.0, &mut r.1)) {
                *a /= n;
                *b /= n;
            }
            if let Some((users, hatch)) = p.users.as_mut() {
                let base = *users / count;
                let extra = u32::from(index <= *users % count);
                *users = (base + extra).max(1);
                *hatch /= n;
            }
        }
        self.max_requests = self.max_requests.div_ceil(u64::from(count));
        self.pool = self.pool.map(|p| p.div_ceil(count as usize));
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    suite: Option<Spanned<String>>,
    #[serde(default)]
    model: Option<Spanned<String>>,
    #[serde(default)]
    engine: Option<Spanned<String>>,
    #[serde(rename = "phase")]
    phases: Spanned<Vec<PhaseFile>>,
    mix: Spanned<BTreeMap<String, u32>>,
    #[serde(default)]
    routes: RoutesFile,
    #[serde(default)]
    thresholds: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    abort: Option<AbortFile>,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    mocks: MocksFile,
    #[serde(default)]
    validate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    #[serde(default)]
    name: Option<String>,
    duration: Spanned<String>,
    #[serde(default)]
    rate: Option<Spanned<RateFile>>,
    #[serde(default)]
    users: Option<Spanned<u32>>,
    #[serde(default)]
    hatch_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RateFile {
    Held(f64),
    Ramp { from: f64, to: f64 },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    #[serde(default)]
    paid: Option<Spanned<String>>,
    #[serde(default)]
    free: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AbortFile {
    grace: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default)]
    max_in_flight: Option<usize>,
    #[serde(default)]
    max_requests: Option<u64>,
    #[serde(default)]
    pool: Option<usize>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    drain: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MocksFile {
    #[serde(default)]
    facilitator_faults: Vec<Spanned<String>>,
    #[serde(default)]
    lightning_faults: Vec<Spanned<String>>,
}

/// Requests in flight at most, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Requests per run at most, by default.
pub const DEFAULT_MAX_REQUESTS: u64 = 1_000_000;
/// The longest a run may be, whatever its phases say.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Parses and validates a profile's text.
pub fn parse(file: &str, text: &str) -> Result<Profile, FileError> {
    let raw: ProfileFile = toml::from_str(text)
        .map_err(|e| FileError::at(file, text, e.span(), e.message().trim()))?;
    let err = |span: Range<usize>, msg: String| FileError::at(file, text, Some(span), msg);
    let duration = |s: &Spanned<String>| {
        crate::duration::parse_duration(s.get_ref()).map_err(|e| err(s.span(), e))
    };
    let suite = match &raw.suite {
        Some(s) => s.get_ref().parse().map_err(|e| err(s.span(), e))?,
        None => Suite::X402(Dialect::X402V2),
    };
    let model = match raw.model.as_ref().map(|m| (m.get_ref().as_str(), m.span())) {
        None | Some(("open", _)) => Model::Open,
        Some(("closed", _)) => Model::Closed,
        Some((other, span)) => {
            return Err(err(
                span,
                format!("model '{other}': expected open or closed"),
            ));
        }
    };
    let engine = match raw
        .engine
        .as_ref()
        .map(|e| (e.get_ref().as_str(), e.span()))
    {
        None if model == Model::Closed => Engine::Goose,
        None | Some(("paycheck", _)) => Engine::Paycheck,
        Some(("goose", _)) if model == Model::Closed => Engine::Goose,
        Some(("goose", span)) => {
            return Err(err(
                span,
                "engine 'goose': goose has no open model; drop engine, or set model = \"closed\""
                    .into(),
            ));
        }
        Some((other, span)) => {
            return Err(err(
                span,
                format!("engine '{other}': expected goose or paycheck"),
            ));
        }
    };
    if raw.phases.get_ref().is_empty() {
        return Err(err(
            raw.phases.span(),
            "no [[phase]]: a profile needs at least one".into(),
        ));
    }
    let mut phases = Vec::new();
    for (i, p) in raw.phases.get_ref().iter().enumerate() {
        let name = p.name.clone().unwrap_or_else(|| format!("phase {}", i + 1));
        let d = duration(&p.duration)?;
        if d.is_zero() {
            return Err(err(
                p.duration.span(),
                format!("{name}: the duration is zero"),
            ));
        }
        let phase = match (model, &p.rate, &p.users) {
            (Model::Open, Some(rate), None) => {
                let (from, to) = match rate.get_ref() {
                    RateFile::Held(r) => (*r, *r),
                    RateFile::Ramp { from, to } => (*from, *to),
                };
                if !(from.is_finite() && to.is_finite() && from >= 0.0 && to >= 0.0)
                    || from + to <= 0.0
                {
                    return Err(err(
                        rate.span(),
                        format!("{name}: rates are arrivals per second, at least one above 0"),
                    ));
                }
                Phase {
                    name,
                    duration: d,
                    rate: Some((from, to)),
                    users: None,
                }
            }
            (Model::Closed, None, Some(users)) => {
                if engine == Engine::Goose && d.subsec_nanos() != 0 {
                    return Err(err(
                        p.duration.span(),
                        format!(
                            "{name}: a goose phase lasts whole seconds (goose's test plan counts seconds); or set engine = \"paycheck\""
                        ),
                    ));
                }
                let hatch = p.hatch_rate.unwrap_or(f64::from(*users.get_ref()));
                if *users.get_ref() == 0 || !(hatch.is_finite() && hatch > 0.0) {
                    return Err(err(
                        users.span(),
                        format!("{name}: users and hatch_rate must be above 0"),
                    ));
                }
                Phase {
                    name,
                    duration: d,
                    rate: None,
                    users: Some((*users.get_ref(), hatch)),
                }
            }
            (Model::Open, _, _) => {
                return Err(err(
                    p.duration.span(),
                    format!("{name}: an open-model phase has a rate (and no users)"),
                ));
            }
            (Model::Closed, _, _) => {
                return Err(err(
                    p.duration.span(),
                    format!(
                        "{name}: a closed-model phase has users (and no rate); or set model = \"open\""
                    ),
                ));
            }
        };
        phases.push(phase);
    }
    let mut mix = [0u32; 4];
    for (k, w) in raw.mix.get_ref() {
        let txn = Txn::from_name(k).ok_or_else(|| {
            err(
                raw.mix.span(),
                format!("mix: unknown transaction '{k}'; use unpaid, paid, free or replay"),
            )
        })?;
        mix[txn.index()] = *w;
    }
    if mix.iter().sum::<u32>() == 0 {
        return Err(err(
            raw.mix.span(),
            "mix: every weight is 0; give at least one transaction a weight".into(),
        ));
    }
    let route = |r: &Option<Spanned<String>>| -> Result<Option<RouteSpec>, FileError> {
        r.as_ref()
            .map(|s| s.get_ref().parse().map_err(|e| err(s.span(), e)))
            .transpose()
    };
    let mut thresholds = Vec::new();
    for (metric, spec) in &raw.thresholds {
        thresholds.push(Threshold::parse(metric, spec.get_ref()).map_err(|e| err(spec.span(), e))?);
    }
    let limit = |v: &Option<Spanned<String>>, default: u64| {
        v.as_ref()
            .map(duration)
            .transpose()
            .map(|d| d.unwrap_or(Duration::from_secs(default)))
    };
    let profile = Profile {
        file: file.to_string(),
        name: raw.name.get_ref().clone(),
        description: raw.description,
        suite,
        model,
        engine,
        phases,
        mix,
        paid_route: route(&raw.routes.paid)?,
        free_route: route(&raw.routes.free)?,
        thresholds,
        abort_after: raw.abort.as_ref().map(|a| duration(&a.grace)).transpose()?,
        max_in_flight: raw
            .limits
            .max_in_flight
            .unwrap_or(DEFAULT_MAX_IN_FLIGHT)
            .max(1),
        max_requests: raw
            .limits
            .max_requests
            .unwrap_or(DEFAULT_MAX_REQUESTS)
            .max(1),
        pool: raw.limits.pool,
        timeout: limit(&raw.limits.timeout, 10)?,
        drain: limit(&raw.limits.drain, 10)?,
        validate: raw.validate.unwrap_or(true),
        facilitator_faults: rules(&raw.mocks.facilitator_faults, &err)?,
        lightning_faults: rules(&raw.mocks.lightning_faults, &err)?,
    };
    if profile.duration() > MAX_DURATION {
        return Err(err(
            raw.phases.span(),
            format!(
                "the phases last {} s, ramps included; a run lasts at most {} s",
                profile.duration().as_secs(),
                MAX_DURATION.as_secs()
            ),
        ));
    }
    if profile.suite.l402_profile().is_some() && !profile.facilitator_faults.is_empty() {
        return Err(err(
            raw.mix.span(),
            "mocks.facilitator_faults: an L402 server uses no facilitator; use lightning_faults"
                .into(),
        ));
    }
    Ok(profile)
}

fn rules<R: std::str::FromStr<Err = String>>(
    texts: &[Spanned<String>],
    err: &dyn Fn(Range<usize>, String) -> FileError,
) -> Result<Vec<R>, FileError> {
    texts
        .iter()
        .map(|t| t.get_ref().parse().map_err(|e| err(t.span(), e)))
        .collect()
}

/// Reads and validates a profile from disk.
pub fn load(path: &Path) -> Result<Profile, FileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::at(&name, "", None, format!("cannot read: {e}")))?;
    parse(&name, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOKE: &str = r#"
name = "t"
[[phase]]
name = "ramp"
rate = { from = 10, to = 30 }
duration = "2s"
[[phase]]
rate = 30
duration = "1s"
[mix]
unpaid = 3
paid = 1
[thresholds]
"paid.p99" = "< 250ms"
"#;

    #[test]
    fn a_profile_parses_with_defaults() {
        let p = parse("t.toml", SMOKE).unwrap();
        assert_eq!((p.model, p.suite.id()), (Model::Open, "x402-v2"));
        assert_eq!(p.phases[0].rate, Some((10.0, 30.0)));
        assert_eq!(p.phases[1].name, "phase 2");
        assert_eq!(p.duration(), Duration::from_secs(3));
        assert!((p.scheduled_arrivals() - 70.0).abs() < 1e-9);
        assert!((p.share(Txn::Paid) - 0.25).abs() < 1e-9);
        assert_eq!(p.thresholds.len(), 1);
        assert_eq!(p.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
    }

    #[test]
    fn shards_divide_rates_users_and_bounds() {
        let mut p = parse("t.toml", SMOKE).unwrap();
        p.shard(2, 3);
        assert_eq!(p.phases[0].rate, Some((10.0 / 3.0, 10.0)));
        let closed = SMOKE
            .replace("rate = { from = 10, to = 30 }", "users = 10")
            .replace("rate = 30", "users = 4\nhatch_rate = 2")
            .replace("name = \"t\"", "name = \"t\"\nmodel = \"closed\"");
        let mut c = parse("c.toml", &closed).unwrap();
        assert_eq!(c.engine, Engine::Goose);
        // 10 users within 1 s (the hatch rate defaults to the users), held 2 s; then down
        // to 4 at 2 a second (3 s), held 1 s.
        assert_eq!(c.duration(), Duration::from_secs(1 + 2 + 3 + 1));
        c.shard(1, 3);
        assert_eq!(c.phases[0].users, Some((4, 10.0 / 3.0)));
        assert_eq!(c.phases[1].users.unwrap().0, 2);
    }

    #[test]
    fn mistakes_point_at_their_line() {
        for (edit, want) in [
            (
                ("unpaid = 3", "unpayed = 3"),
                "unknown transaction 'unpayed'",
            ),
            (("\"< 250ms\"", "\"< fast\""), "t.toml:14:14"),
            (("rate = 30", "users = 30"), "has a rate"),
            (("duration = \"1s\"", "duration = \"1\""), "needs a unit"),
            (
                ("name = \"t\"", "name = \"t\"\nmodel = \"mixed\""),
                "expected open or closed",
            ),
            (
                ("name = \"t\"", "name = \"t\"\nsurprise = 1"),
                "unknown field",
            ),
            (
                ("name = \"t\"", "name = \"t\"\nengine = \"goose\""),
                "goose has no open model",
            ),
            (
                ("name = \"t\"", "name = \"t\"\nengine = \"k6\""),
                "expected goose or paycheck",
            ),
        ] {
            let text = SMOKE.replace(edit.0, edit.1);
            let e = parse("t.toml", &text).unwrap_err().to_string();
            assert!(e.contains(want) && e.starts_with("t.toml:"), "{want}: {e}");
        }
    }
}
