//! The live progress line, and the monitor that stops a run early: after the profile's
//! grace period, a threshold missed on the measurements so far stops the run (abort on
//! fail); a run that outlives its phases by far is stopped too.

use super::Stop;
use super::metrics::Metrics;
use super::profile::Profile;
use super::thresholds::{Observed, Scope, Stat};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(250);
/// How often thresholds are judged mid-run.
const JUDGE_EVERY: Duration = Duration::from_secs(1);
/// Without a terminal, a line is printed this often.
const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// A run is stopped when it outlives its phases, drain and timeout by this much.
const OVERRUN: Duration = Duration::from_secs(30);

/// A running monitor.
pub struct Monitor {
    done: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Monitor {
    /// Stops the monitor and clears the line.
    pub async fn finish(self) {
        let _ = self.done.send(true);
        let _ = self.task.await;
    }
}

/// The phase running at `elapsed`.
fn phase_at(profile: &Profile, elapsed: Duration) -> &str {
    let mut end = Duration::ZERO;
    for (p, span) in profile.phases.iter().zip(profile.spans()) {
        end += span;
        if elapsed < end {
            return &p.name;
        }
    }
    "draining"
}

/// Starts the monitor of a run.
pub fn spawn(profile: Profile, metrics: Arc<Metrics>, stop: Stop, show: bool) -> Monitor {
    let (done, mut done_rx) = watch::channel(false);
    let bar = (show && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        bar
    });
    let task = tokio::spawn(async move {
        let limit = profile.duration() + profile.drain + profile.timeout + OVERRUN;
        let total = profile.duration().as_secs_f64();
        let mut last_judged = Instant::now();
        let mut last_plain = Instant::now();
        let mut last_sent = 0u64;
        let mut last_at = Instant::now();
        let mut rate = 0.0;
        let mut summary = String::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = done_rx.changed() => break,
            }
            let elapsed = metrics.started().elapsed();
            let sent = metrics.sent();
            let dt = last_at.elapsed().as_secs_f64();
            if dt >= 1.0 {
                rate = (sent - last_sent) as f64 / dt;
                last_sent = sent;
                last_at = Instant::now();
            }
            if last_judged.elapsed() >= JUDGE_EVERY {
                last_judged = Instant::now();
                let m = metrics.snapshot();
                let p99 = m.observe(Scope::All, Stat::Percentile(99.0)).unwrap_or(0.0);
                summary = format!(
                    "p99 {p99:.1} ms, {} errors, {} dropped",
                    m.errors(),
                    m.dropped
                );
                if let Some(grace) = profile.abort_after
                    && elapsed >= grace
                {
                    for t in profile.thresholds.iter().filter(|t| t.judged_mid_run()) {
                        let v = t.judge(&m);
                        if let (false, Some(actual)) = (v.passed, v.actual) {
                            stop.stop(format!(
                                "stopped early: {} missed at {:.1} s ({})",
                                t.expr,
                                elapsed.as_secs_f64(),
                                t.show(actual)
                            ));
                        }
                    }
                }
            }
            if elapsed > limit {
                stop.stop(format!(
                    "stopped: the run outlived its phases by {} s",
                    OVERRUN.as_secs()
                ));
            }
            let line = format!(
                "{:.1}/{total:.0} s  {}  {sent} sent ({rate:.0}/s)  {summary}",
                elapsed.as_secs_f64(),
                phase_at(&profile, elapsed)
            );
            match &bar {
                Some(b) => b.set_message(line),
                None if show && last_plain.elapsed() >= PLAIN_EVERY => {
                    last_plain = Instant::now();
                    eprintln!("{line}");
                }
                None => {}
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    });
    Monitor { done, task }
}
