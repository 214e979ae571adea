//! The open model: an arrival-rate executor on tokio. Each arrival is sent at its
//! intended time whatever earlier answers do. At most `max_in_flight` requests are in
//! flight; an arrival that finds none free is dropped and counted, as k6 does. Latency is
//! measured from the intended time (corrected) and from the actual send (uncorrected).
//!
//! `max_in_flight` workers, tokio tasks, each own one HTTP/1.1 connection
//! ([`super::conn`]). The dispatcher is a thread of its own: it
//! sleeps (nanosleep, not tokio's millisecond timer) until each arrival is due and hands it
//! to the worker idle longest. When none is idle it waits on a condition variable for one,
//! and drops every arrival that came due meanwhile. How late each request is sent after
//! its intended time is measured, not hidden.

use super::Stop;
use super::conn::{Arrival, Client, Connection, drain};
use super::metrics::Metrics;
use super::mix::Mixer;
use super::schedule::Schedule;
use super::txn::{Plan, Skip};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How an open-model run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Requests in flight at most (and connections at most).
    pub max_in_flight: usize,
    /// Requests sent at most.
    pub max_requests: u64,
    /// Each request gives up after this.
    pub timeout: Duration,
    /// After the schedule ends, requests in flight get this long.
    pub drain: Duration,
}

/// The dispatcher sleeps at most this long at a time, so that a stop is seen promptly.
const NAP: Duration = Duration::from_millis(50);

/// What one phase of an open-model run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseCount {
    /// Arrivals scheduled.
    pub scheduled: u64,
    /// Arrivals sent.
    pub sent: u64,
    /// Arrivals dropped (too many requests in flight).
    pub dropped: u64,
    /// Arrivals not sent because the pool of payments ran out.
    pub skipped: u64,
    /// When the first and the last of its arrivals were actually sent.
    pub sent_span: Option<(Instant, Instant)>,
}

impl PhaseCount {
    /// Arrivals per second as actually sent: `(sent − 1)` over the time from the first send
    /// to the last. On time it is the target rate; a generator that falls behind stretches
    /// the span and shows a lower rate.
    pub fn achieved_rate(&self) -> f64 {
        match self.sent_span {
            Some((first, last)) if self.sent > 1 && last > first => {
                (self.sent - 1) as f64 / last.duration_since(first).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// What every worker shares.
struct Shared {
    client: Client,
    /// Idle workers, the longest idle first.
    idle: Mutex<std::collections::VecDeque<usize>>,
    /// Signalled each time a worker becomes idle.
    freed: std::sync::Condvar,
}

/// A worker: takes arrivals one at a time until the dispatcher hangs up.
async fn worker(id: usize, shared: Arc<Shared>, mut rx: mpsc::Receiver<Box<Arrival>>) {
    let mut conn = Connection::default();
    while let Some(arrival) = rx.recv().await {
        shared.client.send(&mut conn, *arrival).await;
        shared
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(id);
        shared.freed.notify_one();
    }
}

/// Runs the schedule. Served paid payments' ids go to `served`.
pub async fn run(
    plan: Arc<Plan>,
    schedule: &Schedule,
    mixer: &Mixer,
    bounds: Bounds,
    metrics: Arc<Metrics>,
    served: Arc<Mutex<Vec<String>>>,
    stop: Stop,
) -> Result<Vec<PhaseCount>, String> {
    let shared = Arc::new(Shared {
        client: Client::new(plan.clone(), metrics.clone(), served, bounds.timeout).await?,
        idle: Mutex::new((0..bounds.max_in_flight).collect()),
        freed: std::sync::Condvar::new(),
    });
    let mut senders = Vec::with_capacity(bounds.max_in_flight);
    let mut workers = tokio::task::JoinSet::new();
    for id in 0..bounds.max_in_flight {
        let (tx, rx) = mpsc::channel(1);
        senders.push(tx);
        workers.spawn(worker(id, shared.clone(), rx));
    }
    let dispatch = {
        let (shared, plan, schedule, mixer, metrics, stop) = (
            shared.clone(),
            plan.clone(),
            schedule.clone(),
            mixer.clone(),
            metrics.clone(),
            stop.clone(),
        );
        tokio::task::spawn_blocking(move || {
            dispatch(
                &shared, &plan, &schedule, &mixer, bounds, &metrics, &stop, senders,
            )
        })
    };
    let counts = dispatch.await.expect("the dispatcher does not panic");
    // The dispatcher hung up: each worker finishes the request it has, then ends.
    drain(workers, bounds.drain, &stop).await;
    Ok(counts)
}

/// Sleeps until `at` in naps, unless told to stop; false when stopped.
fn sleep_until(at: Instant, stop: &Stop) -> bool {
    loop {
        if stop.is_stopped() {
            return false;
        }
        let now = Instant::now();
        if at <= now {
            return true;
        }
        std::thread::sleep((at - now).min(NAP));
    }
}

/// The dispatcher thread: the timetable, arrival by arrival.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    shared: &Shared,
    plan: &Plan,
    schedule: &Schedule,
    mixer: &Mixer,
    bounds: Bounds,
    metrics: &Metrics,
    stop: &Stop,
    senders: Vec<mpsc::Sender<Box<Arrival>>>,
) -> Vec<PhaseCount> {
    let mut counts = vec![PhaseCount::default(); schedule.slots.len()];
    for (i, slot) in schedule.slots.iter().enumerate() {
        counts[i].scheduled = slot.arrivals();
    }
    let start = metrics.started();
    let lock = || shared.idle.lock().unwrap_or_else(|e| e.into_inner());
    let mut arrivals = schedule.arrivals().enumerate().peekable();
    while let Some((n, (phase, offset))) = arrivals.next() {
        let intended = start + offset;
        if !sleep_until(intended, stop) {
            break;
        }
        let Some(id) = lock().pop_front() else {
            // Every slot is taken: this arrival is dropped, and so is every arrival that
            // comes due before a worker is free again.
            metrics.drop_arrival();
            counts[phase].dropped += 1;
            let mut idle = lock();
            while idle.is_empty() && !stop.is_stopped() {
                idle = shared
                    .freed
                    .wait_timeout(idle, NAP)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            drop(idle);
            let now = Instant::now();
            while let Some(&(_, (p, off))) = arrivals.peek() {
                if start + off >= now {
                    break;
                }
                arrivals.next();
                metrics.drop_arrival();
                counts[p].dropped += 1;
            }
            continue;
        };
        let planned = match plan.request(mixer.pick(n as u64)) {
            Ok(p) => p,
            Err(Skip::PoolExhausted) => {
                lock().push_front(id);
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
        let now = Instant::now();
        let c = &mut counts[phase];
        c.sent += 1;
        let span = c.sent_span.get_or_insert((now, now));
        span.1 = now;
        // The worker is idle: its one-place channel is empty. Boxed, because a channel
        // allocates a block of 32 slots up front: 32 pointers, not 32 arrivals.
        let _ = senders[id].try_send(Box::new(Arrival { planned, intended }));
    }
    counts
}
