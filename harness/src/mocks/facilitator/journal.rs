//! The journal: every call the mock facilitator received, in order, for checks to query.

use crate::protocol::{Deviation, Dialect};
use serde::Serialize;
use serde_json::Value;
use std::sync::Mutex;
use std::time::Instant;

/// A facilitator endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `GET /supported`
    Supported,
    /// `POST /verify`
    Verify,
    /// `POST /settle`
    Settle,
}

impl Endpoint {
    /// The lower-case name, as in fault rules and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Supported => "supported",
            Endpoint::Verify => "verify",
            Endpoint::Settle => "settle",
        }
    }
}

impl crate::mocks::faults::MockEndpoint for Endpoint {
    const ALL: &'static [Self] = &[Endpoint::Verify, Endpoint::Settle, Endpoint::Supported];
    fn name(self) -> &'static str {
        Endpoint::name(self)
    }
}

/// What the facilitator concluded for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// `/supported` answered.
    Listed,
    /// `/verify` said valid.
    Valid,
    /// `/verify` or `/settle` refused the payment.
    Invalid {
        /// The reason code sent.
        reason: String,
    },
    /// `/settle` moved the funds.
    Settled {
        /// The transaction hash sent.
        transaction: String,
    },
    /// The request itself was malformed (the server's fault, not the payer's).
    Malformed {
        /// What was wrong.
        error: String,
    },
    /// A scheduled fault answered instead.
    Fault {
        /// The fault's name.
        fault: String,
    },
}

/// One call to the facilitator.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Position in the journal, from 0.
    pub seq: usize,
    /// Milliseconds since the facilitator started.
    pub at_ms: u64,
    /// Which endpoint was called.
    pub endpoint: Endpoint,
    /// The dialect of the request, when it could be told.
    pub dialect: Option<Dialect>,
    /// The request body as JSON (`null` for `GET` or a body that is not JSON).
    pub request: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// What was concluded.
    pub verdict: Verdict,
    /// The payer's address, when the payment could be read.
    pub payer: Option<String>,
    /// The authorization nonce, which identifies the payment.
    pub nonce: Option<String>,
    /// How the request deviated from the specification.
    pub deviations: Vec<Deviation>,
}

/// A thread-safe list of calls. Unbounded by default (a conformance run makes a few
/// hundred calls); under load it keeps only the latest entries, without request bodies,
/// but still counts every payment's settlements.
#[derive(Debug)]
pub struct Journal {
    start: Instant,
    /// `Some(n)`: keep the latest `n` entries, without their request bodies.
    capacity: Option<usize>,
    entries: Mutex<Entries>,
    /// Woken at every change, for [`Journal::wait_until`].
    changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Entries {
    kept: std::collections::VecDeque<JournalEntry>,
    /// Entries ever recorded.
    total: usize,
    /// Successful settlements by nonce (lower case), over every entry ever recorded.
    settled: std::collections::HashMap<String, usize>,
    /// `/settle` calls begun (answered or not) by nonce (lower case).
    settling: std::collections::HashMap<String, usize>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::bounded(None)
    }
}

impl Journal {
    /// A journal keeping at most `capacity` entries (all when `None`).
    pub fn bounded(capacity: Option<usize>) -> Self {
        Self {
            start: Instant::now(),
            capacity,
            entries: Mutex::new(Entries::default()),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an entry; `seq` and `at_ms` are filled in here.
    pub fn record(&self, mut entry: JournalEntry) {
        entry.at_ms = self.start.elapsed().as_millis() as u64;
        let mut entries = self.lock();
        entry.seq = entries.total;
        entries.total += 1;
        if matches!(entry.verdict, Verdict::Settled { .. })
            && let Some(n) = &entry.nonce
        {
            *entries.settled.entry(n.to_lowercase()).or_default() += 1;
        }
        if let Some(cap) = self.capacity {
            entry.request = Value::Null;
            if entries.kept.len() >= cap.max(1) {
                entries.kept.pop_front();
            }
        }
        entries.kept.push_back(entry);
        drop(entries);
        self.changed.notify_waiters();
    }

    /// Notes that a `/settle` call for `nonce` has begun (it is journaled when answered).
    pub fn settle_began(&self, nonce: &str) {
        *self
            .lock()
            .settling
            .entry(nonce.to_lowercase())
            .or_default() += 1;
        self.changed.notify_waiters();
    }

    /// How many `/settle` calls for one payment (by nonce) have begun, answered or not.
    pub fn settles_begun(&self, nonce: &str) -> usize {
        self.lock()
            .settling
            .get(&nonce.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Waits until `done` holds for the journal (checked at every change), or `bound`
    /// passed; returns whether it holds.
    pub async fn wait_until(
        &self,
        bound: std::time::Duration,
        done: impl Fn(&Self) -> bool,
    ) -> bool {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if done(self) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(bound, wait).await.is_ok()
    }

    /// A copy of every entry kept, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().kept.iter().cloned().collect()
    }

    /// The kept entries from position `from` on (to look only at what one step caused).
    pub fn since(&self, from: usize) -> Vec<JournalEntry> {
        self.lock()
            .kept
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect()
    }

    /// How many entries were ever recorded (the position the next one gets).
    pub fn len(&self) -> usize {
        self.lock().total
    }

    /// True when nothing was called.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many kept calls reached `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.lock()
            .kept
            .iter()
            .filter(|e| e.endpoint == endpoint)
            .count()
    }

    /// The kept entries for one payment (by nonce), in order.
    fn for_nonce(&self, nonce: &str) -> Vec<JournalEntry> {
        self.lock()
            .kept
            .iter()
            .filter(|e| {
                e.nonce
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(nonce))
            })
            .cloned()
            .collect()
    }

    /// The endpoints called for one payment (by nonce), in order.
    pub fn calls_for_nonce(&self, nonce: &str) -> Vec<Endpoint> {
        self.for_nonce(nonce).iter().map(|e| e.endpoint).collect()
    }

    /// How many times one payment (by nonce) was settled successfully (counted over every
    /// entry, also those a bounded journal no longer keeps).
    pub fn settlements_of(&self, nonce: &str) -> usize {
        self.lock()
            .settled
            .get(&nonce.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// How many settlements succeeded, over every entry.
    pub fn settlements(&self) -> usize {
        self.lock().settled.values().sum()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        *self.lock() = Entries::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settled(nonce: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at_ms: 0,
            endpoint: Endpoint::Settle,
            dialect: Some(Dialect::X402V2),
            request: json!({"body": "big"}),
            status: 200,
            verdict: Verdict::Settled {
                transaction: "0x1".into(),
            },
            payer: None,
            nonce: Some(nonce.into()),
            deviations: Vec::new(),
        }
    }

    #[test]
    fn a_bounded_journal_keeps_the_latest_entries_but_counts_every_settlement() {
        let j = Journal::bounded(Some(2));
        for n in ["0xa", "0xb", "0xc", "0xA"] {
            j.record(settled(n));
        }
        assert_eq!(j.len(), 4);
        let kept = j.entries();
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[0].seq, kept[1].seq), (2, 3));
        assert!(kept.iter().all(|e| e.request.is_null()), "bodies dropped");
        assert_eq!(
            j.settlements_of("0xa"),
            2,
            "counted past the bound, any case"
        );
        assert_eq!(j.settlements(), 4);
        assert_eq!(j.since(3).len(), 1);
        let all = Journal::default();
        all.record(settled("0xd"));
        assert_eq!(all.entries()[0].request, json!({"body": "big"}));
    }
}
