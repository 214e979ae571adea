//! The closed model, on goose: a GooseAttack built from the profile (its phases as a goose
//! test plan, its mix as weighted transactions), configured in code with
//! `initialize_with_config` (never from argv), with goose's telnet and WebSocket
//! controllers off (no fixed ports) and its HTML report written beside ours.
//!
//! Every user shares one HTTP client (goose's `set_client_builder_without_cookies`): a
//! client each would cost about 180 KB of TLS setup per user, which paycheck, on plain
//! loopback HTTP, never uses.
//!
//! Each goose user sends one request after another; a transaction builds its request from
//! the shared [`Plan`], times it and judges the answer into paycheck's own histograms
//! (a closed model has no schedule to fall behind, so corrected latency equals
//! uncorrected). Goose installs a Ctrl-C handler of its own; paycheck installs one first,
//! so that Ctrl-C stops the run through goose's killswitch and paycheck still writes its
//! report.

use super::Stop;
use super::metrics::{Metrics, Sample, Violation};
use super::profile::{Phase, Profile, Txn};
use super::txn::{Plan, Skip};
use crate::target::cause_chain;
use crate::target::http1::MAX_BODY;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::goose::{
    GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionResult,
};
use goose::{GooseAttack, trigger_killswitch};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The goose test plan of closed-model phases: ramp to each phase's users at its hatch
/// rate, hold for its duration, then stop every user.
pub fn test_plan(phases: &[Phase]) -> String {
    let mut steps = Vec::new();
    let mut users = 0u32;
    for p in phases {
        let target = p.users.map_or(0, |u| u.0);
        let ramp = p.ramp_from(users).as_secs();
        steps.push(format!("{target},{ramp}"));
        steps.push(format!("{target},{}", p.duration.as_secs().max(1)));
        users = target;
    }
    steps.push("0,0".into());
    steps.join(";")
}

fn method(m: &axum::http::Method) -> GooseMethod {
    match *m {
        axum::http::Method::POST => GooseMethod::Post,
        axum::http::Method::PUT => GooseMethod::Put,
        axum::http::Method::DELETE => GooseMethod::Delete,
        axum::http::Method::HEAD => GooseMethod::Head,
        axum::http::Method::PATCH => GooseMethod::Patch,
        _ => GooseMethod::Get,
    }
}

/// What a transaction shares with the run.
struct Shared {
    plan: Arc<Plan>,
    metrics: Arc<Metrics>,
    served: Arc<Mutex<Vec<String>>>,
    stop: Stop,
    max_requests: u64,
}

async fn transaction(user: &mut GooseUser, txn: Txn, shared: &Shared) -> TransactionResult {
    if shared.stop.is_stopped() {
        trigger_killswitch(&shared.stop.reason().unwrap_or_default());
        return Ok(());
    }
    let planned = match shared.plan.request(txn) {
        Ok(p) => p,
        Err(Skip::PoolExhausted) => {
            // A user would otherwise spin through the rest of the run without sending.
            shared.metrics.pool_ran_out();
            let reason = shared.plan.pool_spent();
            shared.stop.stop(reason.clone());
            trigger_killswitch(&reason);
            return Ok(());
        }
    };
    if shared.metrics.count_sent() > shared.max_requests {
        let reason = format!("the request bound ({}) was reached", shared.max_requests);
        shared.stop.stop(reason.clone());
        trigger_killswitch(&reason);
        return Ok(());
    }
    let builder = user
        .get_request_builder(&method(&planned.method), &planned.path)?
        .headers(planned.headers.clone())
        .body(planned.body.clone());
    let request = GooseRequest::builder()
        .name(txn.name())
        .set_request_builder(builder)
        .build();
    let sent = Instant::now();
    let answer = user.request(request).await?;
    let (status, violation) = match answer.response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            // Chunk by chunk up to the engine's cap, so that an endless or huge body costs
            // at most the cap and is a broken answer (goose's reqwest is not ours to name,
            // so the loop stays here).
            let read = async {
                let mut body = Vec::new();
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) if body.len() + chunk.len() > MAX_BODY => {
                            break Err(format!(
                                "a body over {MAX_BODY} bytes; paycheck stopped reading"
                            ));
                        }
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) => break Ok(body),
                        Err(e) => break Err(format!("body: {}", cause_chain(&e))),
                    }
                }
            };
            match read.await {
                Ok(body) => (
                    Some(status),
                    shared.plan.judge(txn, status, &headers, &body),
                ),
                Err(message) => (
                    Some(status),
                    Some(Violation {
                        kind: "no-answer".into(),
                        message,
                    }),
                ),
            }
        }
        Err(e) => (
            None,
            Some(Violation {
                kind: if e.is_timeout() {
                    "timeout"
                } else {
                    "no-answer"
                }
                .into(),
                message: cause_chain(&e),
            }),
        ),
    };
    let served = status.is_some_and(|s| (200..300).contains(&s)) && violation.is_none();
    if served && let Some(t) = planned.ticket {
        shared
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(t);
    }
    shared.metrics.record(Sample {
        txn,
        intended: sent,
        sent,
        done: Instant::now(),
        status,
        violation,
    });
    Ok(())
}

/// Runs the closed-model phases with goose; its HTML report goes to `goose_report`.
pub async fn run(
    plan: Arc<Plan>,
    profile: &Profile,
    metrics: Arc<Metrics>,
    served: Arc<Mutex<Vec<String>>>,
    stop: Stop,
    goose_report: &Path,
) -> Result<(), String> {
    goose::reset_killswitch();
    let mut config = GooseConfiguration::default();
    config.host = Some(plan.base_url.clone());
    config.quiet = 1;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    config.no_websocket = true;
    config.timeout = Some(profile.timeout.as_secs().max(1).to_string());
    config.report_file = vec![goose_report.display().to_string()];
    let shared = Arc::new(Shared {
        plan,
        metrics,
        served,
        stop: stop.clone(),
        max_requests: profile.max_requests,
    });
    let mut scenario = Scenario::new("paycheck");
    for txn in Txn::ALL {
        let weight = profile.mix[txn.index()] as usize;
        if weight == 0 {
            continue;
        }
        let shared = shared.clone();
        let t = Transaction::new(Arc::new(move |user| {
            let shared = shared.clone();
            Box::pin(async move { transaction(user, txn, &shared).await })
        }))
        .set_name(txn.name())
        .set_weight(weight)
        .map_err(|e| format!("goose: {e:?}"))?;
        scenario = scenario.register_transaction(t);
    }
    // One client for every user: clones share a connection pool and one TLS setup. A
    // client per user (goose's default) costs about 180 KB each, 1.9 GB at 10k users.
    let client = goose::client::GooseClientBuilder::new()
        .without_cookies()
        .timeout(profile.timeout);
    let attack = GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e:?}"))?
        .set_client_builder_without_cookies(client)
        .map_err(|e| format!("goose: {e:?}"))?
        .register_scenario(scenario)
        .set_default(GooseDefault::TestPlan, test_plan(&profile.phases).as_str())
        .map_err(|e| format!("goose: {e:?}"))?;
    // Ctrl-C during the attack: stop through goose's killswitch.
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.wait().await;
            trigger_killswitch(&stop.reason().unwrap_or_else(|| "stopped".into()));
        })
    };
    let result = attack.execute().await;
    watcher.abort();
    result.map(|_| ()).map_err(|e| format!("goose: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn phases_become_a_goose_test_plan() {
        let phase = |users, hatch, secs| Phase {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate: None,
            users: Some((users, hatch)),
        };
        assert_eq!(
            test_plan(&[phase(50, 10.0, 20), phase(20, 5.0, 10)]),
            "50,5;50,20;20,6;20,10;0,0"
        );
        // The plan is one goose accepts.
        assert!(
            test_plan(&[phase(1, 1.0, 1)])
                .parse::<goose::test_plan::TestPlan>()
                .is_ok()
        );
    }
}
