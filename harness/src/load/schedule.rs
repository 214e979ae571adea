//! The open model's timetable: when each arrival is meant to start.
//!
//! Within a phase of length `T` whose rate goes linearly from `a` to `b` arrivals per
//! second, arrivals so far are `N(t) = a·t + (b − a)·t²/(2T)`, and the k-th arrival (from
//! 0) is meant to start when `N(t) = k`: `t = 2k / (a + √(a² + 2(b − a)k/T))`, a form
//! that holds for a held rate (`a = b`: `t = k/a`) and for a ramp from zero alike.
//! Arrivals are evenly spaced, as a constant-arrival-rate executor sends them.

use super::profile::Phase;
use std::time::Duration;

/// One phase's share of the timetable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSlot {
    /// When the phase starts, from the run's start.
    pub start: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// Arrivals per second at its start and at its end.
    pub from: f64,
    /// See `from`.
    pub to: f64,
}

impl PhaseSlot {
    /// How many arrivals the phase schedules.
    pub fn arrivals(&self) -> u64 {
        let n = (self.from + self.to) / 2.0 * self.duration.as_secs_f64();
        // Arrivals k = 0, 1, … with t_k < T: as many as ⌈N(T)⌉, less float noise.
        (n - 1e-9).ceil().max(0.0) as u64
    }

    /// When arrival `k` of the phase is meant to start, from the phase's start.
    pub fn offset(&self, k: u64) -> Duration {
        if k == 0 {
            return Duration::ZERO;
        }
        let (a, b, t) = (self.from, self.to, self.duration.as_secs_f64());
        let k = k as f64;
        let secs = 2.0 * k / (a + (a * a + 2.0 * (b - a) * k / t).sqrt());
        Duration::from_secs_f64(secs.clamp(0.0, t))
    }
}

/// The open model's phases laid end to end.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Each phase's slot, in order.
    pub slots: Vec<PhaseSlot>,
}

impl Schedule {
    /// The timetable of `phases` (closed-model phases take their time, with no arrivals).
    pub fn new(phases: &[Phase]) -> Self {
        let mut start = Duration::ZERO;
        let slots = phases
            .iter()
            .map(|p| {
                let (from, to) = p.rate.unwrap_or((0.0, 0.0));
                let slot = PhaseSlot {
                    start,
                    duration: p.duration,
                    from,
                    to,
                };
                start += p.duration;
                slot
            })
            .collect();
        Self { slots }
    }

    /// Every arrival, in order: its phase and when it is meant to start.
    pub fn arrivals(&self) -> impl Iterator<Item = (usize, Duration)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .flat_map(|(i, s)| (0..s.arrivals()).map(move |k| (i, s.start + s.offset(k))))
    }

    /// How many arrivals there are in all.
    pub fn len(&self) -> u64 {
        self.slots.iter().map(PhaseSlot::arrivals).sum()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(from: f64, to: f64, secs: u64) -> Phase {
        Phase {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate: Some((from, to)),
            users: None,
        }
    }

    #[test]
    fn a_held_rate_is_evenly_spaced() {
        let s = Schedule::new(&[phase(10.0, 10.0, 2)]);
        let times: Vec<Duration> = s.arrivals().map(|(_, t)| t).collect();
        assert_eq!(times.len(), 20);
        assert_eq!(times[1], Duration::from_millis(100));
        assert_eq!(times[19], Duration::from_millis(1900));
    }

    #[test]
    fn a_ramp_speeds_up_and_phases_follow_each_other() {
        let s = Schedule::new(&[phase(0.0, 10.0, 2), phase(5.0, 5.0, 1)]);
        assert_eq!(s.len(), 10 + 5);
        let ramp: Vec<f64> = s
            .arrivals()
            .filter(|(i, _)| *i == 0)
            .map(|(_, t)| t.as_secs_f64())
            .collect();
        let gaps: Vec<f64> = ramp.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] < g[0]), "{gaps:?}");
        // N(t) = 10 t² / 4 = k  →  t = √(0.4 k)
        assert!((ramp[4] - (0.4f64 * 4.0).sqrt()).abs() < 1e-9);
        let second: Vec<Duration> = s
            .arrivals()
            .filter(|(i, _)| *i == 1)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(second[0], Duration::from_secs(2));
        assert_eq!(second[4], Duration::from_millis(2800));
    }
}
