//! `paycheck load PROFILE` (against the embedded server, `--spawn CMD` or `--target URL`)
//! and `paycheck merge REPORTS...`.

use super::args::{LoadArgs, MergeArgs};
use super::wiring::{Mocks, SpawnSettings, check_loopback, ensure_reachable, spawn_server};
use super::{Exit, listen_for_stop};
use crate::catalogue::Ctx;
use crate::load::profile::{Engine, Model, Profile};
use crate::load::report::{LoadReport, render_markdown};
use crate::load::{self, Options, Stop, merge::merge as merge_reports};
use crate::payer::keys::KEY_ENV_VAR;
use crate::payer::{KeySource, Payer};
use crate::serve::stopped;
use crate::target::Target;
use crate::target::embedded::{Embedded, LOAD_JOURNAL_CAPACITY};
use std::path::Path;

/// The target of a load run, started (or not) by paycheck.
enum Wired {
    Embedded(Embedded),
    Spawned(crate::target::spawn::Spawned, Mocks),
    Url(Mocks),
}

fn payer(args: &LoadArgs) -> Result<Payer, Exit> {
    let key = if args.allow_mainnet {
        KeySource::Env(KEY_ENV_VAR.into())
    } else {
        KeySource::TestKey(0)
    };
    Payer::from_source(key, args.allow_mainnet).map_err(|e| {
        eprintln!("error: --allow-mainnet: {e}");
        Exit::Usage
    })
}

fn ctx_for(url: &str, profile: &Profile, mocks: &Mocks, payer: Payer) -> Ctx {
    let mut target = Target::new(url, profile.suite, profile.timeout);
    target.paid = profile.paid_route.iter().cloned().collect();
    target.free = profile.free_route.clone();
    Ctx {
        replicas: Vec::new(),
        target,
        facilitator: mocks.facilitator.clone(),
        lightning: mocks.lightning.clone(),
        payer,
        restart: None,
    }
}

pub(super) async fn load(args: LoadArgs) -> Exit {
    let mut profile = match load::profile::load(&args.profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    if let Some((i, n)) = args.shard {
        profile.shard(i, n);
    }
    if let Some(r) = &args.paid {
        profile.paid_route = Some(r.clone());
    }
    if let Some(r) = &args.free {
        profile.free_route = Some(r.clone());
    }
    if let Some(url) = &args.target
        && let Err(e) = check_loopback(url)
    {
        eprintln!("error: {e}");
        return Exit::Usage;
    }
    if (args.target.is_some() || args.spawn.is_some()) && profile.paid_route.is_none() {
        eprintln!(
            "error: name your server's paid route: [routes] paid = \"GET /premium\" in the profile, or --paid 'GET /premium'"
        );
        return Exit::Usage;
    }
    let payer = match payer(&args) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let stop = Stop::new();
    let signal = listen_for_stop();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            stopped(signal).await;
            stop.interrupt();
        });
    }
    if profile.model == Model::Closed {
        // Before goose's own handler, which would exit without a report on a second Ctrl-C.
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.interrupt());
    }
    let options = |kind: &str| Options {
        report_dir: args.report_dir.clone(),
        shard: args.shard,
        target_kind: kind.into(),
        progress: args.format == "text",
    };
    let (wired, mut ctx) = match wire(&args, &profile, payer, &stop).await {
        Ok(Some(w)) => w,
        not_started => {
            // Ctrl-C, or a target that could not be started or reached: still a report.
            let (kind, target) = match (&args.spawn, &args.target) {
                (Some(cmd), _) => ("spawned", cmd.as_str()),
                (None, Some(url)) => ("url", url.as_str()),
                (None, None) => ("embedded", "embedded"),
            };
            let (exit, reason, interrupted) = match not_started {
                Err(exit) => (
                    exit,
                    "the target could not be started or reached (see above)",
                    false,
                ),
                _ => (Exit::Failed, "interrupted before the run started", true),
            };
            let report =
                load::failed_report(&profile, target, &options(kind), reason.into(), interrupted);
            let written = finish(&report, &args.report_dir, &args.format);
            return if written == Exit::Internal {
                written
            } else {
                exit
            };
        }
    };
    let kind = match &wired {
        Wired::Embedded(_) => "embedded",
        Wired::Spawned(..) => "spawned",
        Wired::Url(_) => "url",
    };
    eprintln!(
        "load: {} ({}, {} model, {:.0} s) against {} ({kind})",
        profile.name,
        profile.suite,
        match (profile.model, profile.engine) {
            (Model::Open, _) => "open",
            (Model::Closed, Engine::Goose) => "closed (goose)",
            (Model::Closed, Engine::Paycheck) => "closed (paycheck)",
        },
        profile.duration().as_secs_f64(),
        ctx.target.base_url
    );
    let options = options(kind);
    // As for `run`: one unpaid request first, so that a target that never answers ends the
    // run after one timeout, and a t402 server's version is read from its answer.
    let preflight = ctx.target.preflight().await;
    let unreachable = preflight.is_err() && !stop.was_interrupted();
    let result = match preflight {
        Ok(()) => load::run(&ctx, &profile, &options, stop.clone()).await,
        Err(why) => Err(why),
    };
    let ctx_url = ctx.target.base_url.clone();
    drop(ctx);
    match wired {
        Wired::Embedded(e) => e.stop().await,
        Wired::Spawned(server, mocks) => {
            server.stop().await;
            mocks.stop().await;
        }
        Wired::Url(mocks) => mocks.stop().await,
    }
    let report = result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        load::failed_report(&profile, &ctx_url, &options, e, stop.was_interrupted())
    });
    match finish(&report, &args.report_dir, &args.format) {
        Exit::Failed if unreachable => Exit::Unreachable,
        exit => exit,
    }
}

/// Starts (or reaches) the target; `Ok(None)` when Ctrl-C came first.
async fn wire(
    args: &LoadArgs,
    profile: &Profile,
    payer: Payer,
    stop: &Stop,
) -> Result<Option<(Wired, Ctx)>, Exit> {
    let signal = {
        let (tx, rx) = crate::serve::stop_channel();
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.wait().await;
            let _ = tx.send(true);
        });
        rx
    };
    match (&args.spawn, &args.target) {
        (Some(cmd), _) => {
            let mocks = Mocks::start(&args.mocks, true, Some(LOAD_JOURNAL_CAPACITY)).await?;
            let settings = SpawnSettings {
                log: args.report_dir.join("server.log"),
                startup: args.startup_timeout,
            };
            match spawn_server(cmd, &mocks, &settings, &signal).await {
                Ok(Some(server)) => {
                    let ctx = ctx_for(&server.url(), profile, &mocks, payer);
                    Ok(Some((Wired::Spawned(server, mocks), ctx)))
                }
                Ok(None) => {
                    mocks.stop().await;
                    Ok(None)
                }
                Err(exit) => {
                    mocks.stop().await;
                    Err(exit)
                }
            }
        }
        (None, Some(url)) => {
            ensure_reachable(url, profile.timeout).await.map_err(|e| {
                eprintln!("error: {e}");
                Exit::Unreachable
            })?;
            let mocks = Mocks::start(&args.mocks, false, Some(LOAD_JOURNAL_CAPACITY)).await?;
            let ctx = ctx_for(url, profile, &mocks, payer);
            Ok(Some((Wired::Url(mocks), ctx)))
        }
        (None, None) => {
            let embedded = Embedded::start_for_load(profile.suite).await.map_err(|e| {
                eprintln!("error: cannot start the embedded servers: {e}");
                Exit::Internal
            })?;
            let mut ctx = embedded.ctx(profile.timeout, payer);
            if let Some(r) = &profile.paid_route {
                ctx.target.paid = vec![r.clone()];
            }
            if let Some(r) = &profile.free_route {
                ctx.target.free = Some(r.clone());
            }
            Ok(Some((Wired::Embedded(embedded), ctx)))
        }
    }
}

/// Prints the report, writes it, and picks the exit code.
fn finish(report: &LoadReport, dir: &Path, format: &str) -> Exit {
    if format == "json" {
        out!(
            "{}",
            serde_json::to_string_pretty(report).expect("reports serialise")
        );
    } else {
        super::out_str(&render_markdown(report));
    }
    match report.write(dir) {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            eprintln!("reports: {}", names.join(", "));
        }
        Err(e) => {
            eprintln!("error: cannot write reports to {}: {e}", dir.display());
            return Exit::Internal;
        }
    }
    if report.passed {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

pub(super) fn merge(args: MergeArgs) -> Exit {
    let mut reports = Vec::new();
    for path in &args.reports {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<LoadReport>(&t).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: not a paycheck load.json: {e}", path.display());
                return Exit::Usage;
            }
        }
    }
    match merge_reports(&reports) {
        Ok(merged) => finish(&merged, &args.report_dir, &args.format),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
    }
}
