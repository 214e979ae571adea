//! `paycheck run`: the conformance catalogue against the embedded reference servers.

use super::args::RunArgs;
use super::console;
use super::{Exit, wait_for_stop};
use crate::catalogue::runner::{Selection, run_suite, select};
use crate::catalogue::{Ctx, Status, catalogue};
use crate::payer::keys::KEY_ENV_VAR;
use crate::payer::{KeySource, Payer};
use crate::protocol::Dialect;
use crate::report::{Report, SuiteReport};
use crate::target::embedded::Embedded;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every request of a check is bounded by this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl RunArgs {
    /// The arguments of a bare `paycheck`: every suite, default report directory.
    pub fn default_run() -> Self {
        Self {
            report_dir: "reports/latest".into(),
            format: "text".into(),
            ..Self::default()
        }
    }
}

/// The results so far, shared so that Ctrl-C can still write them.
type Collected = Arc<Mutex<Vec<SuiteReport>>>;

pub(super) async fn run(args: RunArgs) -> Exit {
    let suites = if args.suites.is_empty() {
        Dialect::ALL.to_vec()
    } else {
        args.suites.clone()
    };
    let selection = Selection {
        only: args.only.clone(),
        exclude: args.exclude.clone(),
        strict: args.strict,
    };
    // Refuse a bad glob before starting anything.
    if let Err(e) = select(catalogue(Dialect::X402V2), &selection) {
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
    let payer =
        |_: Dialect| Payer::from_source(key.clone(), args.allow_mainnet).expect("checked above");
    let started = Instant::now();
    let collected: Collected = Arc::new(Mutex::new(Vec::new()));
    let total: usize = suites
        .iter()
        .map(|d| {
            select(catalogue(*d), &selection)
                .map(|c| c.len())
                .unwrap_or(0)
        })
        .sum();
    let progress = console::Progress::new(total as u64, args.format == "text");
    let work = futures::future::join_all(
        suites
            .iter()
            .map(|d| run_embedded_suite(*d, payer(*d), &selection, &collected, &progress)),
    );
    let interrupted = tokio::select! {
        results = work => {
            if let Some(e) = results.into_iter().find_map(Result::err) {
                progress.finish();
                eprintln!("error: {e}");
                return Exit::Internal;
            }
            false
        }
        _ = wait_for_stop() => true,
    };
    progress.finish();
    let mut suites_done = collected.lock().unwrap_or_else(|e| e.into_inner()).clone();
    suites_done.sort_by_key(|s| suites.iter().position(|d| d.id() == s.suite));
    let report = Report::new(
        suites_done,
        args.strict,
        interrupted,
        started.elapsed().as_secs_f64() * 1000.0,
    );
    finish(&args, &report)
}

/// Starts the embedded stack for one suite and runs the suite on it.
async fn run_embedded_suite(
    dialect: Dialect,
    payer: Payer,
    selection: &Selection,
    collected: &Collected,
    progress: &console::Progress,
) -> Result<(), String> {
    let checks = select(catalogue(dialect), selection)?;
    let embedded = Embedded::start(dialect, None)
        .await
        .map_err(|e| format!("cannot start the embedded servers: {e}"))?;
    let ctx = Ctx {
        target: embedded.target(REQUEST_TIMEOUT),
        facilitator: Some(embedded.facilitator.clone()),
        payer,
    };
    let index = {
        let mut all = collected.lock().unwrap_or_else(|e| e.into_inner());
        all.push(SuiteReport {
            suite: dialect.id().into(),
            target: ctx.target.base_url.clone(),
            target_kind: "embedded".into(),
            results: Vec::new(),
        });
        all.len() - 1
    };
    run_suite(&ctx, &checks, selection.strict, |result| {
        progress.tick(&result);
        collected.lock().unwrap_or_else(|e| e.into_inner())[index]
            .results
            .push(result);
    })
    .await;
    drop(ctx);
    embedded.stop().await;
    Ok(())
}

/// Prints, writes the reports, and picks the exit code.
fn finish(args: &RunArgs, report: &Report) -> Exit {
    if args.format == "json" {
        println!(
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

/// 1 for a failure, an interrupted run, or a run that graded nothing; 4 for harness
/// errors; 0 otherwise.
pub fn exit_for(report: &Report) -> Exit {
    if report.count(Status::Fail) > 0 || report.incomplete {
        Exit::Failed
    } else if report.count(Status::Error) > 0 {
        Exit::Internal
    } else if report.graded() == 0 {
        eprintln!("no check graded the server: failing closed");
        Exit::Failed
    } else {
        Exit::Ok
    }
}
