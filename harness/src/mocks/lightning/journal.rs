//! The Lightning journal: every call the mock Lightning backend received, in order, for
//! checks to query. Bounded: past its capacity the oldest entries go, and are counted.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// A Lightning backend endpoint, as fault rules and the journal name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LnEndpoint {
    /// `POST /api/v1/payments` with `out: false`: create an invoice.
    Create,
    /// `POST /api/v1/payments` with `out: true`: pay an invoice.
    Pay,
    /// `GET /api/v1/payments/{hash}`: is it paid?
    Lookup,
}

impl crate::mocks::faults::MockEndpoint for LnEndpoint {
    const ALL: &'static [Self] = &[LnEndpoint::Create, LnEndpoint::Pay, LnEndpoint::Lookup];
    fn name(self) -> &'static str {
        match self {
            LnEndpoint::Create => "create",
            LnEndpoint::Pay => "pay",
            LnEndpoint::Lookup => "lookup",
        }
    }
}

/// What the backend concluded for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LnVerdict {
    /// An invoice was issued.
    Created,
    /// An invoice was paid (its preimage released).
    Paid,
    /// A lookup answered.
    Answered {
        /// Whether the invoice was paid.
        paid: bool,
    },
    /// The call was refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// A scheduled fault answered instead.
    Fault {
        /// The fault's name.
        fault: String,
    },
}

/// One call to the backend. API keys are never recorded, only whether one was sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LnEntry {
    /// Position in the journal, from 0 (counting dropped entries).
    pub seq: u64,
    /// Milliseconds since the backend started.
    pub at_ms: u64,
    /// Which endpoint was called.
    pub endpoint: LnEndpoint,
    /// The HTTP status answered (201 for an in-process payment by the harness).
    pub status: u16,
    /// The payment hash concerned, hex.
    pub payment_hash: Option<String>,
    /// The amount, millisatoshis.
    pub amount_msat: Option<u64>,
    /// Whether an API key was sent.
    pub api_key: bool,
    /// What was concluded.
    pub verdict: LnVerdict,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<LnEntry>,
    next_seq: u64,
}

/// A bounded, thread-safe list of calls.
#[derive(Debug)]
pub struct LnJournal {
    start: Instant,
    capacity: usize,
    inner: Mutex<Inner>,
}

impl LnJournal {
    /// A journal keeping the latest `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            start: Instant::now(),
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an entry; `seq` and `at_ms` are filled in here.
    pub fn record(&self, mut entry: LnEntry) {
        entry.at_ms = self.start.elapsed().as_millis() as u64;
        let mut inner = self.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.entries.len() >= self.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// A copy of the entries kept, oldest first.
    pub fn entries(&self) -> Vec<LnEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// The number of calls recorded so far (including dropped ones): a mark for
    /// [`LnJournal::since`].
    pub fn mark(&self) -> u64 {
        self.lock().next_seq
    }

    /// The kept entries from sequence number `mark` on.
    pub fn since(&self, mark: u64) -> Vec<LnEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.seq >= mark)
            .cloned()
            .collect()
    }

    /// How many kept entries reached `endpoint`.
    pub fn count(&self, endpoint: LnEndpoint) -> usize {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.endpoint == endpoint)
            .count()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(endpoint: LnEndpoint) -> LnEntry {
        LnEntry {
            seq: 0,
            at_ms: 0,
            endpoint,
            status: 201,
            payment_hash: None,
            amount_msat: None,
            api_key: true,
            verdict: LnVerdict::Created,
        }
    }

    #[test]
    fn the_journal_keeps_the_latest_entries_and_counts_all() {
        let j = LnJournal::new(2);
        j.record(entry(LnEndpoint::Create));
        let mark = j.mark();
        j.record(entry(LnEndpoint::Pay));
        j.record(entry(LnEndpoint::Lookup));
        assert_eq!(j.mark(), 3);
        assert_eq!(j.entries().len(), 2);
        assert_eq!(j.entries()[0].seq, 1);
        assert_eq!(j.since(mark).len(), 2);
        assert_eq!(j.count(LnEndpoint::Create), 0);
    }
}
