//! A run's measurements: per transaction, HDR histograms of the latency from each request's
//! intended start (corrected: what a user waiting in line sees) and from its actual send
//! (uncorrected), status counts, failures and the expectations they broke; overall, the
//! arrivals dropped and the dispatch lag. Histograms serialise (HdrHistogram V2, deflated,
//! base64) so that shards merge exactly.

use super::profile::Txn;
use super::thresholds::{Observed, Scope, Stat};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The largest latency recorded, microseconds (an hour); longer ones are clamped.
const HIGHEST_US: u64 = 3_600_000_000;
/// Examples of broken expectations kept per transaction.
const EXAMPLES: usize = 5;

/// A new latency histogram: 1 µs to an hour, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

/// A histogram as base64 of its deflated V2 serialisation.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serialising to memory works");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads a histogram written by [`encode`].
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("a histogram is not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

/// An answer that broke its transaction's expectation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// A stable kind, such as `not-402` or `no-receipt`.
    pub kind: String,
    /// What happened.
    pub message: String,
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its transaction.
    pub txn: Txn,
    /// When it was meant to start (the arrival time; the send time in a closed model).
    pub intended: Instant,
    /// When it was sent.
    pub sent: Instant,
    /// When its answer ended (or it failed).
    pub done: Instant,
    /// The status, when there was an answer.
    pub status: Option<u16>,
    /// The broken expectation, if any (a missing answer is one too).
    pub violation: Option<Violation>,
}

/// What one transaction measured.
#[derive(Debug, Clone)]
pub struct TxnMeasure {
    /// Latency from the intended start, microseconds.
    pub corrected: Histogram<u64>,
    /// Latency from the actual send, microseconds.
    pub uncorrected: Histogram<u64>,
    /// Answers by status (`0` counts requests with no answer).
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that failed: no answer, or an answer breaking the expectation.
    pub errors: u64,
    /// Failures by kind.
    pub violations: BTreeMap<String, u64>,
    /// The first few failures.
    pub examples: Vec<Violation>,
}

impl Default for TxnMeasure {
    fn default() -> Self {
        Self {
            corrected: histogram(),
            uncorrected: histogram(),
            statuses: BTreeMap::new(),
            errors: 0,
            violations: BTreeMap::new(),
            examples: Vec::new(),
        }
    }
}

impl TxnMeasure {
    /// How many requests finished.
    pub fn requests(&self) -> u64 {
        self.corrected.len()
    }

    /// Adds another measure of the same transaction (another shard's).
    pub fn merge(&mut self, other: &TxnMeasure) {
        self.corrected.add(&other.corrected).expect("same bounds");
        self.uncorrected
            .add(&other.uncorrected)
            .expect("same bounds");
        for (s, n) in &other.statuses {
            *self.statuses.entry(*s).or_default() += n;
        }
        self.errors += other.errors;
        for (k, n) in &other.violations {
            *self.violations.entry(k.clone()).or_default() += n;
        }
        for e in &other.examples {
            if self.examples.len() < EXAMPLES {
                self.examples.push(e.clone());
            }
        }
    }
}

/// A run's measurements at one moment (or merged from shards).
#[derive(Debug, Clone)]
pub struct Measurements {
    /// How long the run has lasted.
    pub elapsed: Duration,
    /// Per transaction, indexed by [`Txn::index`].
    pub txns: [TxnMeasure; 4],
    /// Arrivals dropped because too many requests were in flight.
    pub dropped: u64,
    /// Paid or replay requests not sent because the pool of payments ran out.
    pub pool_exhausted: u64,
    /// How late requests were sent after their intended start, microseconds.
    pub lag: Histogram<u64>,
}

impl Measurements {
    /// Every transaction's latency histograms merged: (corrected, uncorrected).
    pub fn all(&self) -> (Histogram<u64>, Histogram<u64>) {
        let (mut c, mut u) = (histogram(), histogram());
        for t in &self.txns {
            c.add(&t.corrected).expect("same bounds");
            u.add(&t.uncorrected).expect("same bounds");
        }
        (c, u)
    }

    /// Requests finished, over every transaction.
    pub fn requests(&self) -> u64 {
        self.txns.iter().map(TxnMeasure::requests).sum()
    }

    /// Failed requests, over every transaction.
    pub fn errors(&self) -> u64 {
        self.txns.iter().map(|t| t.errors).sum()
    }

    fn scoped(&self, scope: Scope) -> (Histogram<u64>, u64, u64) {
        match scope {
            Scope::All => (self.all().0, self.requests(), self.errors()),
            Scope::Txn(t) => {
                let m = &self.txns[t.index()];
                (m.corrected.clone(), m.requests(), m.errors)
            }
        }
    }
}

impl Observed for Measurements {
    fn observe(&self, scope: Scope, stat: Stat) -> Option<f64> {
        let (h, requests, errors) = self.scoped(scope);
        if requests == 0 {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(match stat {
            Stat::Percentile(p) => ms(h.value_at_percentile(p)),
            Stat::Max => ms(h.max()),
            Stat::Mean => h.mean() / 1000.0,
            Stat::Rps => requests as f64 / self.elapsed.as_secs_f64().max(1e-9),
            Stat::ErrorRate => errors as f64 / requests as f64,
            Stat::DroppedRate => self.dropped as f64 / (requests + self.dropped) as f64,
        })
    }
}

/// The recorder a run writes into from every task.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    txns: [Mutex<TxnMeasure>; 4],
    lag: Mutex<Histogram<u64>>,
    dropped: AtomicU64,
    pool_exhausted: AtomicU64,
    sent: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIGHEST_US)
}

impl Metrics {
    /// An empty recorder; the run's clock starts now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            txns: Default::default(),
            lag: Mutex::new(histogram()),
            dropped: AtomicU64::new(0),
            pool_exhausted: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        }
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Counts a request as sent (for the request bound and the progress line).
    pub fn count_sent(&self) -> u64 {
        self.sent.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Records one finished request.
    pub fn record(&self, s: Sample) {
        let corrected = micros(s.done.saturating_duration_since(s.intended));
        let uncorrected = micros(s.done.saturating_duration_since(s.sent));
        let lag = s.sent.saturating_duration_since(s.intended);
        {
            let mut t = self.txns[s.txn.index()]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            t.corrected.saturating_record(corrected);
            t.uncorrected.saturating_record(uncorrected);
            *t.statuses.entry(s.status.unwrap_or(0)).or_default() += 1;
            if let Some(v) = s.violation {
                t.errors += 1;
                *t.violations.entry(v.kind.clone()).or_default() += 1;
                if t.examples.len() < EXAMPLES {
                    t.examples.push(v);
                }
            }
        }
        if !lag.is_zero() {
            self.lag
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .saturating_record(micros(lag));
        }
    }

    /// Counts an arrival that could not be sent (too many requests in flight).
    pub fn drop_arrival(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a paid or replay request not sent because the pool ran out.
    pub fn pool_ran_out(&self) {
        self.pool_exhausted.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of everything measured so far.
    pub fn snapshot(&self) -> Measurements {
        Measurements {
            elapsed: self.started.elapsed(),
            txns: std::array::from_fn(|i| {
                self.txns[i]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
            }),
            dropped: self.dropped.load(Ordering::Relaxed),
            pool_exhausted: self.pool_exhausted.load(Ordering::Relaxed),
            lag: self.lag.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(txn: Txn, ms: u64, late_ms: u64, status: u16) -> Sample {
        let intended = Instant::now();
        let sent = intended + Duration::from_millis(late_ms);
        Sample {
            txn,
            intended,
            sent,
            done: sent + Duration::from_millis(ms),
            status: Some(status),
            violation: (status >= 500).then(|| Violation {
                kind: "5xx".into(),
                message: format!("HTTP {status}"),
            }),
        }
    }

    #[test]
    fn corrected_latency_counts_the_wait_before_sending() {
        let m = Metrics::new();
        m.record(sample(Txn::Paid, 10, 90, 200));
        m.record(sample(Txn::Paid, 10, 0, 503));
        m.drop_arrival();
        let s = m.snapshot();
        let paid = &s.txns[Txn::Paid.index()];
        assert_eq!((paid.requests(), paid.errors), (2, 1));
        assert!((paid.corrected.max() as f64 - 100_000.0).abs() < 200.0);
        assert!((paid.uncorrected.max() as f64 - 10_000.0).abs() < 20.0);
        assert_eq!(paid.statuses[&503], 1);
        assert_eq!(paid.examples[0].kind, "5xx");
        assert_eq!(s.observe(Scope::All, Stat::ErrorRate), Some(0.5));
        assert_eq!(s.observe(Scope::All, Stat::DroppedRate), Some(1.0 / 3.0));
        assert_eq!(s.observe(Scope::Txn(Txn::Free), Stat::Max), None);
    }

    #[test]
    fn histograms_round_trip_and_merge_exactly() {
        let (mut a, mut b) = (histogram(), histogram());
        for v in 1..=1000u64 {
            a.record(v * 10).unwrap();
            b.record(v * 1000).unwrap();
        }
        let back = decode(&encode(&a)).unwrap();
        assert_eq!(back, a);
        let mut merged = decode(&encode(&a)).unwrap();
        merged.add(decode(&encode(&b)).unwrap()).unwrap();
        let mut direct = a.clone();
        direct.add(&b).unwrap();
        assert_eq!(
            merged.value_at_percentile(99.0),
            direct.value_at_percentile(99.0)
        );
        assert_eq!(merged.len(), 2000);
        assert!(decode("not base64!").is_err());
    }
}
