//! The open model: an arrival-rate executor on tokio and hyper. Each arrival is sent at its
//! intended time whatever earlier answers do. At most `max_in_flight` requests are in
//! flight; an arrival that finds none free is dropped and counted, as k6 does. Latency is
//! measured from the intended time (corrected) and from the actual send (uncorrected).
//!
//! The dispatcher sleeps until the next arrival is due and then sends every arrival that
//! is due (tokio's timer ticks in milliseconds, so at high rates a tick sends several);
//! the lateness of each send is measured, not hidden.

use super::Stop;
use super::metrics::{Metrics, Sample, Violation};
use super::mix::Mixer;
use super::schedule::Schedule;
use super::txn::{Plan, Skip};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How an open-model run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Requests in flight at most.
    pub max_in_flight: usize,
    /// Requests sent at most.
    pub max_requests: u64,
    /// Each request gives up after this.
    pub timeout: Duration,
    /// After the schedule ends, requests in flight get this long.
    pub drain: Duration,
}

/// What one phase of an open-model run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PhaseCount {
    /// Arrivals scheduled.
    pub scheduled: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped (too many requests in flight).
    pub dropped: u64,
    /// Arrivals not sent because the pool of payments ran out.
    pub skipped: u64,
}

/// An HTTP/1.1 client with a keep-alive pool as large as the in-flight cap.
pub fn client(max_in_flight: usize) -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(max_in_flight)
        .build(connector)
}

/// Sends one planned request and judges its answer; returns the sample.
async fn send(
    http: &Client<HttpConnector, Full<Bytes>>,
    plan: &Plan,
    planned: super::txn::Planned,
    intended: Instant,
    timeout: Duration,
) -> (Sample, bool) {
    let mut request = hyper::Request::builder()
        .method(planned.method.clone())
        .uri(format!("{}{}", plan.base_url, planned.path));
    if let Some(h) = request.headers_mut() {
        *h = planned.headers.clone();
    }
    let request = request
        .body(Full::new(planned.body.clone()))
        .expect("a well-formed request");
    let sent = Instant::now();
    let answer = tokio::time::timeout(timeout, async {
        let response = http.request(request).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok::<_, String>((parts, bytes))
    })
    .await;
    let done = Instant::now();
    let (status, violation, served) = match answer {
        Ok(Ok((parts, body))) => {
            let status = parts.status.as_u16();
            let v = plan.judge(planned.txn, status, &parts.headers, &body);
            (Some(status), v, (200..300).contains(&status))
        }
        Ok(Err(e)) => (
            None,
            Some(Violation {
                kind: "no-answer".into(),
                message: e,
            }),
            false,
        ),
        Err(_) => (
            None,
            Some(Violation {
                kind: "timeout".into(),
                message: format!("no answer within {} ms", timeout.as_millis()),
            }),
            false,
        ),
    };
    let sample = Sample {
        txn: planned.txn,
        intended,
        sent,
        done,
        status,
        violation,
    };
    (sample, served)
}

/// Runs the schedule. Served paid payments' ids go to `served`.
pub async fn run(
    plan: Arc<Plan>,
    schedule: &Schedule,
    mixer: &Mixer,
    bounds: Bounds,
    metrics: Arc<Metrics>,
    served: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Stop,
) -> Vec<PhaseCount> {
    let http = client(bounds.max_in_flight);
    let permits = Arc::new(Semaphore::new(bounds.max_in_flight));
    let mut counts = vec![PhaseCount::default(); schedule.slots.len()];
    for (i, slot) in schedule.slots.iter().enumerate() {
        counts[i].scheduled = slot.arrivals();
    }
    let start = metrics.started();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (phase, offset)) in schedule.arrivals().enumerate() {
        if stop.is_stopped() {
            break;
        }
        let intended = start + offset;
        if intended > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(intended.into()) => {}
                _ = stop.wait() => break,
            }
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.drop_arrival();
            counts[phase].dropped += 1;
            continue;
        };
        let planned = match plan.request(mixer.pick(n as u64)) {
            Ok(p) => p,
            Err(Skip::PoolExhausted) => {
                metrics.pool_ran_out();
                counts[phase].skipped += 1;
                continue;
            }
        };
        if metrics.count_sent() > bounds.max_requests {
            stop.stop(format!(
                "the request bound ({}) was reached",
                bounds.max_requests
            ));
            break;
        }
        counts[phase].sent += 1;
        let (http, plan, metrics, served) =
            (http.clone(), plan.clone(), metrics.clone(), served.clone());
        tasks.spawn(async move {
            let ticket = planned.ticket.clone();
            let (sample, ok) = send(&http, &plan, planned, intended, bounds.timeout).await;
            metrics.record(sample);
            if ok && let Some(t) = ticket {
                served.lock().unwrap_or_else(|e| e.into_inner()).push(t);
            }
            drop(permit);
        });
        // Reap finished tasks now and then, so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    let drained = tokio::time::timeout(bounds.drain, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
    }
    counts
}
