//! The closed model on paycheck's own executor (`engine = "paycheck"`): users, each a tokio
//! task with one HTTP/1.1 connection ([`super::conn`]), sending one request after another.
//! A user costs about 13 KB where a goose user costs about 60 KB (goose's per-user state,
//! reqwest's pool opening more connections than users, hyper's 25 KB a connection), so
//! 10k users take 133 MB, not 650 (BENCHMARKS.md); goose remains the default for its
//! HTML report.
//!
//! The users wanted follow goose's test plan: each phase starts (or stops) users at its
//! hatch rate until it has its own count, then holds them for its duration. A user no
//! longer wanted closes its connection and waits; the run ends when the last phase does.

use super::Stop;
use super::conn::{Arrival, Client, Connection, drain};
use super::metrics::Metrics;
use super::mix::Mixer;
use super::profile::{Phase, Profile};
use super::txn::{Plan, Skip};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the users wanted are recomputed, at most.
const TICK: Duration = Duration::from_millis(50);

/// The users wanted `t` into the run, or None once the phases are over. Each phase ramps
/// from the users before it to its own, a user every `1/hatch` s (the first at once), for
/// its ramp ([`Phase::ramp_from`]), then holds them for its duration.
pub fn users_at(phases: &[Phase], t: Duration) -> Option<u32> {
    let mut before = 0u32;
    let mut start = Duration::ZERO;
    for p in phases {
        let (target, hatch) = p.users.unwrap_or((0, 1.0));
        let ramp = p.ramp_from(before);
        let end = start + ramp + p.duration;
        if t < end {
            let change = target.abs_diff(before);
            let moved = ((t - start).as_secs_f64() * hatch).floor() as u32 + 1;
            let moved = moved.min(change);
            return Some(if target >= before {
                before + moved
            } else {
                before - moved
            });
        }
        before = target;
        start = end;
    }
    None
}

/// What every user shares.
struct Shared {
    client: Client,
    mixer: Mixer,
    /// Requests made so far, for the mix.
    picks: AtomicU64,
    max_requests: u64,
    stop: Stop,
}

/// One user: while wanted, sends one request after another; when not, closes its
/// connection and waits. Ends with the run.
async fn user(id: u32, shared: Arc<Shared>, mut wanted: watch::Receiver<u32>) {
    let mut conn = Connection::default();
    loop {
        if wanted.has_changed().is_err() || shared.stop.is_stopped() {
            return;
        }
        if *wanted.borrow_and_update() <= id {
            conn.close();
            if wanted.wait_for(|&n| n > id).await.is_err() {
                return;
            }
            continue;
        }
        let n = shared.picks.fetch_add(1, Ordering::Relaxed);
        let planned = match shared.client.plan.request(shared.mixer.pick(n)) {
            Ok(p) => p,
            Err(Skip::PoolExhausted) => {
                shared.client.metrics.pool_ran_out();
                shared.stop.stop(shared.client.plan.pool_spent());
                return;
            }
        };
        if shared.client.metrics.count_sent() > shared.max_requests {
            shared.stop.stop(format!(
                "the request bound ({}) was reached",
                shared.max_requests
            ));
            return;
        }
        let arrival = Arrival {
            planned,
            intended: Instant::now(),
        };
        shared.client.send(&mut conn, arrival).await;
    }
}

/// Runs the closed-model phases with paycheck's own users.
pub async fn run(
    plan: Arc<Plan>,
    profile: &Profile,
    metrics: Arc<Metrics>,
    served: Arc<Mutex<Vec<String>>>,
    stop: Stop,
) -> Result<(), String> {
    let shared = Arc::new(Shared {
        client: Client::new(plan, metrics.clone(), served, profile.timeout).await?,
        mixer: Mixer::new(profile.mix),
        picks: AtomicU64::new(0),
        max_requests: profile.max_requests,
        stop: stop.clone(),
    });
    let (wanted, watching) = watch::channel(0u32);
    let mut users = tokio::task::JoinSet::new();
    let start = metrics.started();
    let tick = tick(&profile.phases);
    let mut spawned = 0u32;
    while let Some(n) = users_at(&profile.phases, start.elapsed()) {
        for id in spawned..n {
            users.spawn(user(id, shared.clone(), watching.clone()));
        }
        spawned = spawned.max(n);
        wanted.send_if_modified(|w| std::mem::replace(w, n) != n);
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.wait() => break,
        }
    }
    // The phases are over (or the run was stopped): each user finishes the request it
    // has, then ends.
    drop(wanted);
    drain(users, profile.drain, &stop).await;
    Ok(())
}

/// How often to recompute the users wanted: a user's interval at the fastest hatch rate
/// (tokio's timer counts milliseconds), [`TICK`] at most.
fn tick(phases: &[Phase]) -> Duration {
    let fastest = phases
        .iter()
        .filter_map(|p| p.users.map(|u| u.1))
        .fold(0.0f64, f64::max);
    Duration::from_secs_f64(1.0 / fastest.max(1.0)).clamp(Duration::from_millis(1), TICK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(users: u32, hatch: f64, secs: u64) -> Phase {
        Phase {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate: None,
            users: Some((users, hatch)),
        }
    }

    #[test]
    fn users_ramp_at_the_hatch_rate_hold_then_end() {
        let phases = [phase(10, 5.0, 2), phase(4, 2.0, 1)];
        let at = |ms| users_at(&phases, Duration::from_millis(ms));
        // Ramp up over 2 s: the first user at once, one more every 200 ms; ten at 1.8 s.
        assert_eq!(at(0), Some(1));
        assert_eq!(at(199), Some(1));
        assert_eq!(at(200), Some(2));
        assert_eq!(at(1_799), Some(9));
        assert_eq!(at(1_800), Some(10));
        // Held for 2 s after the ramp, to 4 s; then down to 4 at 2 a second (a 3 s ramp,
        // the last stop at 2.5 s into it), held 1 s more.
        assert_eq!(at(3_999), Some(10));
        assert_eq!(at(4_000), Some(9));
        assert_eq!(at(6_499), Some(5));
        assert_eq!(at(6_500), Some(4));
        assert_eq!(at(7_999), Some(4));
        assert_eq!(at(8_000), None);
    }
}
