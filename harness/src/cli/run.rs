//! `paycheck run`: the conformance catalogue against the embedded reference servers
//! (default), a server paycheck spawns (`--spawn`), or one it is pointed at (`--target`).

use super::args::{PropsArgs, RunArgs, SnapshotAction, SnapshotArgs};
use super::console;
use super::wiring::{Mocks, SpawnSettings, check_loopback, ensure_reachable, spawn_server};
use super::{Exit, listen_for_stop};
use crate::catalogue::money_path::money_path;
use crate::catalogue::runner::CheckResult;
use crate::catalogue::runner::{Selection, grade, result_answered_or_error, run_suite, select};
use crate::catalogue::{Check, Ctx, Status, catalogue, with_scenarios};
use crate::payer::keys::KEY_ENV_VAR;
use crate::payer::{KeySource, Payer};
use crate::props::{self, PropsConfig};
use crate::protocol::{Dialect, Suite};
use crate::report::{Report, SuiteReport};
use crate::scenario::{self, Scenario};
use crate::serve::{StopSignal, stopped};
use crate::snapshot::{self, SnapshotConfig};
use crate::target::Target;
use crate::target::embedded::Embedded;
use crate::target::restart::{Restart, SpawnedRestart};
use crate::target::tally::tallied;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl RunArgs {
    /// The arguments of a bare `paycheck`: every suite, embedded servers, default reports.
    pub fn default_run() -> Self {
        Self {
            report_dir: "reports/latest".into(),
            format: "text".into(),
            timeout: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(120),
            ..Self::default()
        }
    }
}

/// What a run does on each suite.
enum Mode {
    /// The conformance catalogue.
    Checks,
    /// The property tests.
    Props(PropsConfig),
    /// Record or check snapshots; the embedded servers' /premium price, if changed.
    Snapshot(SnapshotConfig, Option<u64>),
}

/// The results so far, shared so that Ctrl-C can still write them.
type Collected = Arc<Mutex<Vec<SuiteReport>>>;

/// Everything a suite run needs besides its dialect.
struct Plan<'a> {
    args: &'a RunArgs,
    /// What runs on each suite.
    mode: Mode,
    stop: StopSignal,
    scenarios: Vec<Scenario>,
    selection: Selection,
    key: KeySource,
    collected: Collected,
    progress: console::Progress,
}

impl Plan<'_> {
    fn payer(&self) -> Payer {
        Payer::from_source(self.key.clone(), self.args.allow_mainnet)
            .expect("checked before the run")
    }

    /// The suite's checks: the catalogue and the user's scenario files, selected.
    fn checks(&self, suite: Suite) -> Result<Vec<Check>, String> {
        select(
            with_scenarios(catalogue(suite), &self.scenarios, suite),
            &self.selection,
        )
    }

    /// What this run must grade: the money-path checks among `checks`, or for property
    /// tests both properties (the payload property pays, the replay property replays).
    fn required(&self, suite: Suite, checks: &[Check]) -> Vec<String> {
        match self.mode {
            Mode::Checks => {}
            Mode::Props(_) => {
                return ["payload", "replay"]
                    .iter()
                    .map(|p| format!("{}/props/{p}", suite.id()))
                    .collect();
            }
            Mode::Snapshot(..) => return Vec::new(),
        }
        money_path(suite)
            .iter()
            .map(|name| format!("{}/{name}", suite.id()))
            .filter(|id| checks.iter().any(|c| &c.id == id))
            .collect()
    }

    /// Records a suite that could not run at all, and why.
    fn record_unreachable(&self, suite: Suite, url: &str, kind: &str, why: String) {
        eprintln!("error: {suite}: {why}");
        let required = self
            .checks(suite)
            .map(|c| self.required(suite, &c))
            .unwrap_or_default();
        self.collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(SuiteReport {
                suite: suite.id().into(),
                target: url.into(),
                target_kind: kind.into(),
                required,
                target_error: Some(why),
                results: Vec::new(),
            });
    }

    /// Records every suite as one that could not run, for the same reason.
    fn record_unreachable_all(&self, suites: &[Suite], target: &str, kind: &str, why: &str) {
        for suite in suites {
            self.record_unreachable(*suite, target, kind, why.to_string());
        }
    }

    /// Runs one suite on `ctx`, recording results as they come.
    async fn run_on(&self, ctx: Ctx, kind: &str) -> Result<(), String> {
        self.run_on_lanes(vec![ctx], kind).await
    }

    /// Runs one suite with its checks split over `lanes`, identical servers each with its
    /// own mocks, side by side (the embedded default; checks run one after another within
    /// a lane). The report lists the results in catalogue order.
    async fn run_on_lanes(&self, lanes: Vec<Ctx>, kind: &str) -> Result<(), String> {
        let mut ready = Vec::new();
        for mut ctx in lanes {
            match ctx.target.preflight().await {
                Ok(()) => {
                    ctx.align_replicas();
                    ready.push(ctx);
                }
                // The first lane is the suite's server; a spare lane that fails is dropped.
                Err(why) if !ready.is_empty() => {
                    eprintln!("note: {}: one lane only ({why})", ctx.target.suite);
                }
                Err(why) => {
                    self.record_unreachable(ctx.target.suite, &ctx.target.base_url, kind, why);
                    return Ok(());
                }
            }
        }
        let lanes = ready;
        let ctx = &lanes[0];
        let suite = ctx.target.suite;
        let checks = self.checks(suite)?;
        let index = {
            let mut all = self.collected.lock().unwrap_or_else(|e| e.into_inner());
            all.push(SuiteReport {
                suite: suite.id().into(),
                target: ctx.target.base_url.clone(),
                target_kind: kind.into(),
                required: self.required(suite, &checks),
                target_error: None,
                results: Vec::new(),
            });
            all.len() - 1
        };
        // Results are kept in catalogue order as they come, whichever lane ran them, so an
        // interrupted report is in order too.
        let position = |id: &str| checks.iter().position(|c| c.id == id);
        let record = |result: CheckResult| {
            self.progress.tick(&result);
            let mut all = self.collected.lock().unwrap_or_else(|e| e.into_inner());
            let results = &mut all[index].results;
            let at = results.partition_point(|r| position(&r.id) <= position(&result.id));
            results.insert(at, result);
        };
        match &self.mode {
            Mode::Checks => {
                let n = lanes.len();
                let record = &record;
                futures::future::join_all(lanes.iter().enumerate().map(|(i, lane)| {
                    // Every n-th check from the i-th: each section's slow checks spread
                    // over the lanes.
                    let mine: Vec<Check> = checks.iter().skip(i).step_by(n).cloned().collect();
                    async move {
                        run_suite(lane, &mine, self.selection.strict, record).await;
                    }
                }))
                .await;
            }
            Mode::Snapshot(config, _) => snapshot::run(ctx, config)
                .await
                .into_iter()
                .for_each(record),
            Mode::Props(config) => {
                eprintln!(
                    "props on {suite}: up to {} cases per property, seed {}",
                    config.cases, config.seed
                );
                let strict = self.selection.strict;
                // Like checks, a property stands only on whole answers.
                for (r, tally) in [
                    tallied(props::payload_property(ctx, config)).await,
                    tallied(props::replay_property(ctx, config)).await,
                ] {
                    let mut r = result_answered_or_error(r, tally);
                    r.status = grade(r.level, r.status, strict);
                    record(r);
                }
            }
        }
        Ok(())
    }

    fn target(&self, base: &str, suite: Suite) -> Target {
        let mut target = Target::new(base, suite, self.args.timeout);
        target.limits = self.args.body_limits();
        target.hang_window = self.args.hang_window;
        target.paid = self.args.paid.clone();
        target.free = self.args.free.clone();
        target.failing = self.args.failing.clone();
        target.queued = self.args.queued.clone();
        target
    }
}

pub(super) async fn run(args: RunArgs) -> Exit {
    run_with(args, Mode::Checks).await
}

/// `paycheck snapshot record|check`: the same targets and reports, with snapshots.
pub(super) async fn snapshot(args: SnapshotArgs) -> Exit {
    let kind = match (&args.run.spawn, &args.run.target) {
        (Some(_), _) => "spawned",
        (None, Some(_)) => "target",
        (None, None) => "embedded",
    };
    let config = SnapshotConfig {
        action: match args.action {
            SnapshotAction::Record => snapshot::Action::Record {
                accept: args.accept,
            },
            SnapshotAction::Check => snapshot::Action::Check,
        },
        dir: args
            .dir
            .clone()
            .unwrap_or_else(|| format!("reports/snapshots/{kind}").into()),
        redact: args.redact.clone(),
        require_paid: args.run.profile == crate::catalogue::money_path::Scope::Full,
    };
    eprintln!("snapshots in {}", config.dir.display());
    run_with(args.run, Mode::Snapshot(config, args.premium_price)).await
}

/// `paycheck props`: the same targets and reports, with the property tests.
pub(super) async fn props(args: PropsArgs) -> Exit {
    let seed = args.seed.unwrap_or_else(rand_seed);
    let config = PropsConfig {
        cases: args.cases,
        seed,
        budget: args.time_budget,
        regressions: Some(args.regressions.clone()),
    };
    run_with(args.run, Mode::Props(config)).await
}

/// A seed from the clock, printed so that the run can be repeated with --seed.
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(402, |d| d.as_nanos() as u64)
}

async fn run_with(args: RunArgs, mode: Mode) -> Exit {
    let suites = if args.suites.is_empty() {
        Suite::ALL.to_vec()
    } else {
        args.suites.clone()
    };
    let selection = Selection {
        only: args.only.clone(),
        exclude: args.exclude.clone(),
        strict: args.strict,
    };
    if let Err(e) = select(catalogue(Dialect::X402V2), &selection) {
        eprintln!("error: {e}");
        return Exit::Usage;
    }
    if let Err(e) = check_target_flags(&args) {
        eprintln!("error: {e}");
        return Exit::Usage;
    }
    let key = if args.allow_mainnet {
        KeySource::Env(KEY_ENV_VAR.into())
    } else {
        KeySource::TestKey(0)
    };
    if let Err(e) = Payer::from_source(key.clone(), args.allow_mainnet) {
        eprintln!("error: --allow-mainnet: {e}");
        return Exit::Usage;
    }
    let mut scenarios = Vec::new();
    for path in &args.scenarios {
        match scenario::load(path) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Usage;
            }
        }
    }
    let plan = Plan {
        args: &args,
        mode,
        stop: listen_for_stop(),
        scenarios,
        selection,
        key,
        collected: Arc::new(Mutex::new(Vec::new())),
        progress: console::Progress::new(0, args.format == "text"),
    };
    let total: usize = suites
        .iter()
        .map(|d| plan.checks(*d).map(|c| c.len()).unwrap_or(0))
        .sum();
    plan.progress.set_total(total as u64);
    let started = Instant::now();
    let outcome = match (&args.spawn, &args.target) {
        (Some(cmd), _) => run_spawned(&plan, &suites, cmd).await,
        (None, Some(url)) => run_url(&plan, &suites, url).await,
        (None, None) => run_embedded(&plan, &suites).await,
    };
    plan.progress.finish();
    let interrupted = match outcome {
        Ok(interrupted) => interrupted,
        Err(exit) => return exit,
    };
    let mut done = plan
        .collected
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    done.sort_by_key(|s| suites.iter().position(|d| d.id() == s.suite));
    let report = Report::new(
        done,
        args.strict,
        interrupted,
        started.elapsed().as_secs_f64() * 1000.0,
    )
    .scoped(args.profile);
    finish(&args, &report)
}

/// Flags that only make sense together.
fn check_target_flags(args: &RunArgs) -> Result<(), String> {
    if (args.target.is_some() || args.spawn.is_some()) && args.paid.is_empty() {
        return Err("name at least one paid route of your server: --paid 'GET /premium'".into());
    }
    if let Some(url) = &args.target {
        check_loopback(url)?;
    }
    if args.replicas > 1 && args.spawn.is_none() {
        return Err(
            "--replicas starts the server several times, so it needs --spawn CMD (a --target server runs once)"
                .into(),
        );
    }
    Ok(())
}

/// Waits for `work` unless Ctrl-C comes first; true when interrupted.
async fn until_stopped<F: std::future::Future<Output = Result<(), String>>>(
    stop: &StopSignal,
    work: F,
) -> Result<bool, Exit> {
    tokio::select! {
        result = work => match result {
            Ok(()) => Ok(false),
            Err(e) => {
                eprintln!("error: {e}");
                Err(Exit::Internal)
            }
        },
        _ = stopped(stop.clone()) => Ok(true),
    }
}

/// The embedded default: one reference server and its mock per suite, side by side.
async fn run_embedded(plan: &Plan<'_>, suites: &[Suite]) -> Result<bool, Exit> {
    let work = futures::future::join_all(suites.iter().map(|suite| async move {
        let price = match &plan.mode {
            Mode::Snapshot(_, price) => *price,
            _ => None,
        };
        let started = match *suite {
            Suite::X402(dialect) => {
                Embedded::start_with(dialect, |c| {
                    if let Some(p) = price {
                        c.premium_price = p;
                    }
                })
                .await
            }
            Suite::L402(profile) => {
                let props = matches!(plan.mode, Mode::Props(_));
                Embedded::start_l402_with(profile, |c| {
                    if let Some(p) = price {
                        c.premium_price_sat = p;
                    }
                    // Property runs pay an invoice per case: far past any sane rate limit.
                    if props {
                        c.invoice_rate = None;
                    }
                })
                .await
            }
        };
        let mut stacks = match started {
            Ok(e) => vec![e],
            Err(e) => {
                let why = format!("cannot start the embedded {suite} server: {e}");
                plan.record_unreachable(*suite, "embedded", "embedded", why);
                return Ok(());
            }
        };
        // The x402 suites' checks wait on slowed and hanging facilitators: a second
        // stack, with its own mock, runs half of them side by side.
        if let (Suite::X402(dialect), Mode::Checks) = (*suite, &plan.mode) {
            match Embedded::start(dialect, None).await {
                Ok(second) => stacks.push(second),
                Err(e) => eprintln!("note: {suite}: one embedded stack only ({e})"),
            }
        }
        let lanes = stacks
            .iter()
            .map(|embedded| {
                let mut ctx = embedded.ctx(plan.args.timeout, plan.payer());
                ctx.target.limits = plan.args.body_limits();
                ctx.target.hang_window = plan.args.hang_window;
                ctx
            })
            .collect();
        let result = plan.run_on_lanes(lanes, "embedded").await;
        for embedded in stacks {
            embedded.stop().await;
        }
        result
    }));
    until_stopped(&plan.stop, async {
        work.await
            .into_iter()
            .collect::<Result<Vec<()>, String>>()
            .map(|_| ())
    })
    .await
}

impl Plan<'_> {
    /// Runs every suite, one after another, against the server at `url` (which `restart`
    /// can crash and start again, when paycheck runs it).
    async fn run_suites(
        &self,
        suites: &[Suite],
        urls: &[String],
        mocks: &Mocks,
        kind: &str,
        restart: Option<Arc<dyn Restart>>,
    ) -> Result<bool, Exit> {
        let (url, replicas) = urls.split_first().expect("at least one server");
        until_stopped(&self.stop, async {
            for suite in suites {
                let ctx = Ctx {
                    replicas: replicas.iter().map(|u| self.target(u, *suite)).collect(),
                    target: self.target(url, *suite),
                    facilitator: mocks.facilitator.clone(),
                    lightning: mocks.lightning.clone(),
                    payer: self.payer(),
                    restart: restart.clone(),
                };
                self.run_on(ctx, kind).await?;
            }
            Ok(())
        })
        .await
    }
}

/// Why no suite ran when paycheck's own mocks could not start (`Mocks::start` said why).
const MOCKS_DID_NOT_START: &str =
    "paycheck's mocks could not start (see the error above), so no check ran";

/// `--spawn CMD`: mocks first, then the server, then the suites one after another.
async fn run_spawned(plan: &Plan<'_>, suites: &[Suite], command: &str) -> Result<bool, Exit> {
    let args = plan.args;
    let Ok(mocks) = Mocks::start(&args.mocks, true, None).await else {
        plan.record_unreachable_all(suites, command, "spawned", MOCKS_DID_NOT_START);
        return Ok(false);
    };
    let mut servers = Vec::new();
    for replica in 1..=args.replicas.max(1) {
        let log = match replica {
            1 => "server.log".to_string(),
            n => format!("server-{n}.log"),
        };
        let settings = SpawnSettings {
            log: args.report_dir.join(log),
            startup: args.startup_timeout,
        };
        let failed = match spawn_server(command, &mocks, &settings, &plan.stop).await {
            Ok(Some(s)) => {
                servers.push(s);
                continue;
            }
            Ok(None) => Ok(true),
            Err(Exit::Unreachable) => {
                let which = if args.replicas > 1 {
                    format!(" (replica {replica} of {})", args.replicas)
                } else {
                    String::new()
                };
                let why = format!(
                    "the spawned server{which} did not start or answer on its port (its output: {})",
                    settings.log.display()
                );
                plan.record_unreachable_all(suites, command, "spawned", &why);
                Ok(false)
            }
            Err(exit) => Err(exit),
        };
        for s in servers {
            s.stop().await;
        }
        mocks.stop().await;
        return failed;
    }
    let urls: Vec<String> = servers.iter().map(|s| s.url()).collect();
    // The first server is the one checks may crash and restart.
    let mut servers = servers.into_iter();
    let first = servers.next().expect("at least one server started");
    let first = Arc::new(SpawnedRestart::new(first, args.startup_timeout));
    let result = plan
        .run_suites(suites, &urls, &mocks, "spawned", Some(first.clone()))
        .await;
    if let Ok(first) = Arc::try_unwrap(first) {
        first.into_inner().stop().await;
    }
    for s in servers {
        s.stop().await;
    }
    mocks.stop().await;
    result
}

/// `--target URL`: a server paycheck does not control.
async fn run_url(plan: &Plan<'_>, suites: &[Suite], url: &str) -> Result<bool, Exit> {
    let args = plan.args;
    if let Err(why) = ensure_reachable(url, args.timeout).await {
        plan.record_unreachable_all(suites, url, "url", &why);
        return Ok(false);
    }
    let Ok(mocks) = Mocks::start(&args.mocks, false, None).await else {
        plan.record_unreachable_all(suites, url, "url", MOCKS_DID_NOT_START);
        return Ok(false);
    };
    let result = plan
        .run_suites(suites, &[url.to_string()], &mocks, "url", None)
        .await;
    mocks.stop().await;
    result
}

/// Prints, writes the reports, and picks the exit code.
fn finish(args: &RunArgs, report: &Report) -> Exit {
    if args.format == "json" {
        out!(
            "{}",
            serde_json::to_string_pretty(report).expect("reports serialise")
        );
    } else {
        console::print(report);
    }
    match report.write(&args.report_dir) {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            eprintln!("reports: {}", names.join(", "));
        }
        Err(e) => {
            eprintln!(
                "error: cannot write reports to {}: {e}",
                args.report_dir.display()
            );
            return Exit::Internal;
        }
    }
    exit_for(report)
}

/// The exit code of a finished run, most serious first: 1 for an interrupted run; 3 when a
/// target never answered; 1 for a failure, for anything the fail-closed rule found
/// unproven, or for a run that graded nothing; 4 for harness errors; 0 otherwise.
pub fn exit_for(report: &Report) -> Exit {
    if report.incomplete {
        Exit::Failed
    } else if report.target_unreachable() {
        Exit::Unreachable
    } else if report.count(Status::Fail) > 0 || !report.unproven.is_empty() {
        Exit::Failed
    } else if report.graded() == 0 {
        eprintln!("no check graded the server: failing closed");
        Exit::Failed
    } else if report.count(Status::Error) > 0 {
        Exit::Internal
    } else {
        Exit::Ok
    }
}
