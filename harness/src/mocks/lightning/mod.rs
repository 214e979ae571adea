//! The mock Lightning backend: the LNbits payments API that L402 servers call to create
//! invoices (`POST /api/v1/payments` with `"out": false`) and to ask whether one is paid
//! (`GET /api/v1/payments/{payment_hash}`), issuing real BOLT11 invoices signed with a test
//! node key on regtest. It knows every preimage it issued, so the harness can "pay": over
//! the same API (`"out": true` with a `bolt11`), or in process with
//! [`MockLightning::pay`].
//!
//! Like the facilitator, it keeps a journal and takes a fault schedule (endpoints
//! `create`, `pay`, `lookup`); admin routes: `GET /_paycheck/journal`,
//! `PUT|DELETE /_paycheck/faults`, `POST /_paycheck/reset`.

pub mod book;
pub mod journal;
mod routes;

use crate::protocol::l402::LnNetwork;
use crate::serve::{RunningServer, serve, stop_channel};
use bitcoin::secp256k1::SecretKey;
use book::{InvoiceBook, Issued, PayRefusal};
use journal::{LnEndpoint, LnEntry, LnJournal, LnVerdict};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The mock's fault rules, such as `create=status:503`.
pub type LnFaultRule = crate::mocks::faults::FaultRule<LnEndpoint>;
/// The mock's fault schedule.
pub type LnFaultSchedule = crate::mocks::faults::FaultSchedule<LnEndpoint>;

/// The public test node key that signs the mock's invoices (regtest only; it guards
/// nothing), from `fixtures/keys/test-keys.json`. Fixed, so that an invoice's payee is the
/// same in every run.
fn test_node_key() -> SecretKey {
    let hex = crate::payer::keys::lightning_node_key();
    let bytes = alloy::primitives::hex::decode(hex.trim_start_matches("0x"))
        .expect("the test node key is hex");
    SecretKey::from_slice(&bytes).expect("a valid test node key")
}

/// An API key the mock accepts, handed to spawned servers as `LIGHTNING_API_KEY`. Any
/// non-empty key is accepted; a request without one gets LNbits' 401.
pub const TEST_API_KEY: &str = "paycheck-test-invoice-key";

/// How a mock Lightning backend is set up.
#[derive(Debug, Clone)]
pub struct LightningConfig {
    /// Where to listen; port 0 picks a free port. Must be loopback.
    pub bind: SocketAddr,
    /// The network its invoices are for (their prefix).
    pub network: LnNetwork,
    /// Expiry of an invoice created without one.
    pub default_expiry: Duration,
    /// How many invoices and journal entries it remembers.
    pub capacity: usize,
}

impl Default for LightningConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            network: LnNetwork::Regtest,
            default_expiry: Duration::from_secs(3600),
            capacity: 100_000,
        }
    }
}

/// Everything the backend's handlers share.
#[derive(Debug)]
pub struct LightningState {
    /// The invoices and their preimages.
    pub book: InvoiceBook,
    /// Every call received.
    pub journal: LnJournal,
    /// Faults in force.
    pub faults: LnFaultSchedule,
    /// Expiry of an invoice created without one.
    pub default_expiry: Duration,
    stop: crate::serve::StopSignal,
}

/// A running mock Lightning backend.
#[derive(Debug)]
pub struct MockLightning {
    server: RunningServer,
    state: Arc<LightningState>,
}

impl MockLightning {
    /// Starts a backend on `config.bind`.
    pub async fn start(config: LightningConfig) -> std::io::Result<Self> {
        let (stop_tx, stop_rx) = stop_channel();
        let state = Arc::new(LightningState {
            book: InvoiceBook::new(test_node_key(), config.network, config.capacity),
            journal: LnJournal::new(config.capacity),
            faults: LnFaultSchedule::default(),
            default_expiry: config.default_expiry,
            stop: stop_rx,
        });
        let server = serve(routes::router(state.clone()), config.bind, stop_tx).await?;
        Ok(Self { server, state })
    }

    /// Starts a backend with the default configuration on a free loopback port.
    pub async fn start_default() -> std::io::Result<Self> {
        Self::start(LightningConfig::default()).await
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The journal of calls.
    pub fn journal(&self) -> &LnJournal {
        &self.state.journal
    }

    /// The fault schedule.
    pub fn faults(&self) -> &LnFaultSchedule {
        &self.state.faults
    }

    /// The invoices it issued.
    pub fn book(&self) -> &InvoiceBook {
        &self.state.book
    }

    /// Issues an invoice directly (as `POST /api/v1/payments` with `"out": false` does).
    pub fn issue(&self, amount_msat: u64, memo: &str) -> Issued {
        self.state
            .book
            .issue(amount_msat, memo, self.state.default_expiry)
    }

    /// Pays an invoice it issued and returns the preimage: the harness's wallet. Journaled
    /// as a `pay` call; the fault schedule does not apply (it shapes what servers see).
    pub fn pay(&self, bolt11: &str) -> Result<[u8; 32], PayRefusal> {
        let result = self.state.book.pay(bolt11);
        self.state.journal.record(LnEntry {
            seq: 0,
            at_ms: 0,
            endpoint: LnEndpoint::Pay,
            status: if result.is_ok() { 201 } else { 520 },
            payment_hash: result
                .as_ref()
                .ok()
                .map(|(_, h)| alloy::primitives::hex::encode(h)),
            amount_msat: result.as_ref().ok().map(|(r, _)| r.amount_msat),
            api_key: false,
            verdict: match &result {
                Ok(_) => LnVerdict::Paid,
                Err(e) => LnVerdict::Refused {
                    reason: e.to_string(),
                },
            },
        });
        result.map(|(r, _)| r.preimage)
    }

    /// Stops it; requests in flight (including hanging faults) end.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
