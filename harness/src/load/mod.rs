//! Load runs: a profile's phases against one server, in an open model (paycheck's own
//! arrival-rate executor, [`open`]) or a closed one (goose, [`closed`], or paycheck's own
//! lean users, [`users`]), with payments
//! made beforehand ([`pool`]), every answer judged ([`txn`]), latency in HDR histograms
//! ([`metrics`]), thresholds ([`thresholds`]) that can stop a run early, and 402
//! correctness checked under load against the mocks' journals. Results go to `load.json`
//! (merged exactly across shards by [`merge`]) and `load.md` ([`report`]).

pub mod closed;
mod conn;
pub mod merge;
pub mod metrics;
mod mix;
pub mod open;
pub mod pool;
pub mod profile;
mod progress;
pub mod report;
pub mod schedule;
pub mod thresholds;
pub mod txn;
pub mod users;

use crate::catalogue::{Ctx, Status};
use metrics::{Measurements, Metrics};
use profile::{Engine, Model, Profile, Txn};
use report::{LoadCheck, LoadReport};
use schedule::Schedule;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;
use txn::Plan;

/// Replays sent before a run, to be replayed during it.
const REPLAY_SEEDS: usize = 16;
/// A closed-model pool is sized for each user to send this many requests a second (on
/// loopback a lean user sends over 4,000), the mix's share of them paid ...
const CLOSED_RATE_PER_USER: f64 = 10_000.0;
/// ... and for all users together at most this many paid requests a second (above the
/// 5-6k/s that a 2-core machine's paid path serves, BENCHMARKS.md); `limits.pool`
/// overrides both.
const CLOSED_PAID_CEILING: f64 = 8_000.0;

/// A run's stop signal: the end of the schedule, a missed threshold, the request bound or
/// Ctrl-C. The first reason given is kept.
#[derive(Debug, Clone)]
pub struct Stop {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
    reason: Arc<Mutex<Option<String>>>,
    interrupted: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// A signal not yet given.
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            rx,
            reason: Arc::new(Mutex::new(None)),
            interrupted: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// Gives the signal because the user interrupted the run (Ctrl-C).
    pub fn interrupt(&self) {
        self.interrupted
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.stop("interrupted (Ctrl-C)");
    }

    /// True when the run was interrupted.
    pub fn was_interrupted(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Gives the signal (the first reason is kept).
    pub fn stop(&self, reason: impl Into<String>) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason.into());
        }
        let _ = self.tx.send(true);
    }

    /// True once the signal was given.
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    /// Why it was given.
    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits for the signal.
    pub async fn wait(&self) {
        crate::serve::stopped(self.rx.clone()).await;
    }
}

/// What a run needs besides its profile and target.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where goose writes its HTML report (closed model).
    pub report_dir: PathBuf,
    /// This run's share: (index from 1, count).
    pub shard: Option<(u32, u32)>,
    /// What the target is: `embedded`, `spawned` or `url`.
    pub target_kind: String,
    /// Show the live progress line.
    pub progress: bool,
}

/// The number of fresh payments a run needs.
fn pool_size(profile: &Profile) -> usize {
    let share = profile.share(Txn::Paid);
    if share == 0.0 {
        return 0;
    }
    let estimate = match (profile.pool, profile.model) {
        (Some(n), _) => n,
        (None, Model::Open) => (profile.scheduled_arrivals() * share * 1.02).ceil() as usize + 16,
        (None, Model::Closed) => {
            let requests: f64 = profile
                .phases
                .iter()
                .filter_map(|p| {
                    p.users.map(|(u, hatch)| {
                        let paid =
                            (f64::from(u) * CLOSED_RATE_PER_USER * share).min(CLOSED_PAID_CEILING);
                        // The ramp to this phase's users runs before its duration.
                        paid * (p.duration.as_secs_f64() + f64::from(u) / hatch)
                    })
                })
                .sum();
            requests.ceil() as usize + 16
        }
    };
    estimate.min(profile.max_requests as usize)
}

/// Runs `profile` against the target in `ctx` and measures it.
pub async fn run(
    ctx: &Ctx,
    profile: &Profile,
    options: &Options,
    stop: Stop,
) -> Result<LoadReport, String> {
    let paid = profile
        .paid_route
        .clone()
        .or_else(|| ctx.target.paid.first().cloned())
        .ok_or("name the paid route: [routes] paid = \"GET /premium\" in the profile, or --paid")?;
    let free = match profile
        .free_route
        .clone()
        .or_else(|| ctx.target.free.clone())
    {
        Some(f) => f,
        None if profile.mix[Txn::Free.index()] == 0 => paid.clone(),
        None => {
            return Err(
                "the mix has free requests: name the free route ([routes] free = \"GET /health\", or --free)"
                    .into(),
            );
        }
    };
    if profile.engine == Engine::Paycheck {
        conn::check_base_url(&ctx.target.base_url)?;
    }
    apply_mock_faults(ctx, profile)?;
    let replays = if profile.mix[Txn::Replay.index()] > 0 {
        REPLAY_SEEDS
    } else {
        0
    };
    let wanted = pool_size(profile);
    let pool_started = Instant::now();
    if wanted + replays > 1000 && options.progress {
        eprintln!("preparing {} payments before the run ...", wanted + replays);
    }
    let pool = pool::build(ctx, &paid, wanted, replays).await?;
    let pool_info = report::PoolInfo {
        payments: pool.len(),
        build_ms: pool_started.elapsed().as_secs_f64() * 1000.0,
    };
    let plan = Arc::new(Plan {
        base_url: ctx.target.base_url.clone(),
        suite: ctx.target.suite,
        paid,
        free,
        pool: Arc::new(pool),
        validate: profile.validate,
    });
    let metrics = Arc::new(Metrics::new());
    let served = Arc::new(Mutex::new(Vec::new()));
    let started_at = std::time::SystemTime::now();
    let monitor = progress::spawn(
        profile.clone(),
        metrics.clone(),
        stop.clone(),
        options.progress,
    );
    let schedule = Schedule::new(&profile.phases);
    let counts = match profile.model {
        Model::Open => {
            let bounds = open::Bounds {
                max_in_flight: profile.max_in_flight,
                max_requests: profile.max_requests,
                timeout: profile.timeout,
                drain: profile.drain,
            };
            let mixer = mix::Mixer::new(profile.mix);
            open::run(
                plan.clone(),
                &schedule,
                &mixer,
                bounds,
                metrics.clone(),
                served.clone(),
                stop.clone(),
            )
            .await?
        }
        Model::Closed if profile.engine == Engine::Paycheck => {
            users::run(
                plan.clone(),
                profile,
                metrics.clone(),
                served.clone(),
                stop.clone(),
            )
            .await?;
            Vec::new()
        }
        Model::Closed => {
            let goose_report = options.report_dir.join("goose-report.html");
            std::fs::create_dir_all(&options.report_dir)
                .map_err(|e| format!("{}: {e}", options.report_dir.display()))?;
            closed::run(
                plan.clone(),
                profile,
                metrics.clone(),
                served.clone(),
                stop.clone(),
                &goose_report,
            )
            .await?;
            Vec::new()
        }
    };
    monitor.finish().await;
    clear_mock_faults(ctx);
    let measured = metrics.snapshot();
    let served = std::mem::take(&mut *served.lock().unwrap_or_else(|e| e.into_inner()));
    let checks = checks(ctx, &plan, &measured, &served);
    let thresholds = profile
        .thresholds
        .iter()
        .map(|t| t.judge(&measured))
        .collect();
    Ok(LoadReport::new(report::Parts {
        profile,
        target: &ctx.target.base_url,
        target_kind: &options.target_kind,
        shard: options.shard,
        started_at,
        pool: pool_info,
        phases: report::phases(profile, &counts),
        measured: &measured,
        checks,
        thresholds,
        stopped: stop.reason(),
        interrupted: stop.was_interrupted(),
    }))
}

/// The report of a run that could not start measuring (the target never answered, the
/// payments could not be made): nothing measured, not passed, and why. A load run writes
/// its report whatever happens.
pub fn failed_report(
    profile: &Profile,
    target: &str,
    options: &Options,
    reason: String,
    interrupted: bool,
) -> LoadReport {
    let measured = Metrics::new().snapshot();
    LoadReport::new(report::Parts {
        profile,
        target,
        target_kind: &options.target_kind,
        shard: options.shard,
        started_at: std::time::SystemTime::now(),
        pool: report::PoolInfo {
            payments: 0,
            build_ms: 0.0,
        },
        phases: report::phases(profile, &[]),
        measured: &measured,
        checks: Vec::new(),
        thresholds: Vec::new(),
        stopped: Some(reason),
        interrupted,
    })
}

fn apply_mock_faults(ctx: &Ctx, profile: &Profile) -> Result<(), String> {
    if !profile.facilitator_faults.is_empty() {
        let f = ctx.facilitator.as_deref().ok_or(
            "the profile sets facilitator faults, but the server does not use paycheck's mock facilitator",
        )?;
        f.faults().set(profile.facilitator_faults.clone());
    }
    if !profile.lightning_faults.is_empty() {
        let l = ctx.lightning.as_deref().ok_or(
            "the profile sets Lightning faults, but the server does not use paycheck's mock Lightning backend",
        )?;
        l.faults().set(profile.lightning_faults.clone());
    }
    Ok(())
}

fn clear_mock_faults(ctx: &Ctx) {
    if let Some(f) = ctx.facilitator.as_deref() {
        f.faults().clear();
    }
    if let Some(l) = ctx.lightning.as_deref() {
        l.faults().clear();
    }
}

/// A check over the answers of one transaction: no answer broke the given kinds.
fn violations_check(name: &str, measured: &Measurements, txn: Txn, kinds: &[&str]) -> LoadCheck {
    let t = &measured.txns[txn.index()];
    let bad: u64 = kinds
        .iter()
        .map(|k| t.violations.get(*k).copied().unwrap_or(0))
        .sum();
    let example = t
        .examples
        .iter()
        .find(|e| kinds.contains(&e.kind.as_str()))
        .map(|e| format!("; for example: {}", e.message))
        .unwrap_or_default();
    let (status, message) = match (t.requests(), bad) {
        (0, _) => (Status::NotExercised, format!("no {txn} request was sent")),
        (n, 0) => (Status::Pass, format!("{n} {txn} answers, none wrong")),
        (n, b) => (
            Status::Fail,
            format!("{b} of {n} {txn} answers wrong{example}"),
        ),
    };
    LoadCheck {
        name: name.into(),
        status,
        message,
        violations: bad,
    }
}

/// 402 correctness under load.
fn checks(ctx: &Ctx, plan: &Plan, measured: &Measurements, served: &[String]) -> Vec<LoadCheck> {
    let mut out = vec![violations_check(
        "every unpaid answer is a valid 402",
        measured,
        Txn::Unpaid,
        &["not-402", "invalid-402", "broken-body"],
    )];
    if plan.suite.l402_profile().is_none() {
        out.push(violations_check(
            "every paid answer carries its settlement receipt",
            measured,
            Txn::Paid,
            &["no-receipt", "bad-receipt", "broken-body"],
        ));
        out.push(settled_once(ctx, served));
    }
    out.push(violations_check(
        if plan.suite == crate::protocol::Suite::L402(crate::protocol::L402Profile::Spec) {
            "a paid credential is served again"
        } else {
            "a used payment is never served again"
        },
        measured,
        Txn::Replay,
        &["replay-served", "reuse-refused"],
    ));
    out
}

/// x402: every payment served was settled exactly once, by the mock facilitator's journal.
fn settled_once(ctx: &Ctx, served: &[String]) -> LoadCheck {
    let name = "each served payment was settled exactly once";
    let Some(f) = ctx.facilitator.as_deref() else {
        return LoadCheck {
            name: name.into(),
            status: Status::Unsupported,
            message: "needs paycheck's mock facilitator (embedded, --spawn or --facilitator-wired)"
                .into(),
            violations: 0,
        };
    };
    if served.is_empty() {
        return LoadCheck {
            name: name.into(),
            status: Status::NotExercised,
            message: "no paid request was served".into(),
            violations: 0,
        };
    }
    let journal = f.journal();
    let (mut unsettled, mut twice) = (0u64, 0u64);
    for nonce in served {
        match journal.settlements_of(nonce) {
            1 => {}
            0 => unsettled += 1,
            _ => twice += 1,
        }
    }
    let bad = unsettled + twice;
    LoadCheck {
        name: name.into(),
        status: if bad == 0 { Status::Pass } else { Status::Fail },
        message: format!(
            "{} served, {unsettled} never settled, {twice} settled more than once; {} settlements in all",
            served.len(),
            journal.settlements()
        ),
        violations: bad,
    }
}

/// True when a report says the run met every threshold and check.
pub fn passed(r: &LoadReport) -> bool {
    r.thresholds.iter().all(|t| t.passed)
        && r.checks.iter().all(|c| c.status != Status::Fail)
        && r.stopped.is_none()
        && r.metrics.requests > 0
}
