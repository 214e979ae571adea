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

/// An append-only, thread-safe list of calls.
#[derive(Debug)]
pub struct Journal {
    start: Instant,
    entries: Mutex<Vec<JournalEntry>>,
}

impl Default for Journal {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JournalEntry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an entry; `seq` and `at_ms` are filled in here.
    pub fn record(&self, mut entry: JournalEntry) {
        entry.at_ms = self.start.elapsed().as_millis() as u64;
        let mut entries = self.lock();
        entry.seq = entries.len();
        entries.push(entry);
    }

    /// A copy of every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// The entries from position `from` on (to look only at what one step caused).
    pub fn since(&self, from: usize) -> Vec<JournalEntry> {
        self.lock().iter().skip(from).cloned().collect()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing was called.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many calls reached `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.endpoint == endpoint)
            .count()
    }

    /// The entries for one payment (by nonce), in order.
    fn for_nonce(&self, nonce: &str) -> Vec<JournalEntry> {
        self.lock()
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

    /// How many times one payment (by nonce) was settled successfully.
    pub fn settlements_of(&self, nonce: &str) -> usize {
        self.for_nonce(nonce)
            .iter()
            .filter(|e| matches!(e.verdict, Verdict::Settled { .. }))
            .count()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }
}
