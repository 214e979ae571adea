//! The mock facilitator: `GET /supported`, `POST /verify`, `POST /settle` for x402 v1, v2
//! and t402, on axum, with real EIP-712 signature recovery, a simulated token ledger, a
//! journal of every call and a fault schedule.
//!
//! Admin routes under `/_paycheck/` let a harness in another process read the journal and
//! set faults: `GET /_paycheck/journal`, `PUT /_paycheck/faults` (a JSON array of rules such
//! as `"settle=pending"`), `DELETE /_paycheck/faults`, `POST /_paycheck/reset`.

pub mod faults;
pub mod journal;
pub mod ledger;
mod routes;
pub mod verify;

use crate::serve::{RunningServer, serve, stop_channel};
use alloy::primitives::U256;
use faults::FaultSchedule;
use journal::Journal;
use ledger::Ledger;
use std::net::SocketAddr;
use std::sync::Arc;
use verify::Networks;

/// How a mock facilitator is set up.
#[derive(Debug, Clone)]
pub struct FacilitatorConfig {
    /// Where to listen; port 0 picks a free port. Must be loopback.
    pub bind: SocketAddr,
    /// CAIP-2 ids of the EVM test networks it settles on.
    pub networks: Vec<String>,
    /// Every payer's starting balance, in atomic units.
    pub default_balance: U256,
    /// Keep only the latest this many journal entries, without bodies (for load runs);
    /// `None` keeps every entry.
    pub journal_capacity: Option<usize>,
}

impl Default for FacilitatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            networks: vec!["eip155:84532".into(), "eip155:43113".into()],
            default_balance: U256::from(1_000_000_000_000u64),
            journal_capacity: None,
        }
    }
}

/// Everything the facilitator's handlers share.
#[derive(Debug)]
pub struct FacilitatorState {
    /// Every call received.
    pub journal: Journal,
    /// Faults in force.
    pub faults: FaultSchedule,
    /// Balances and used nonces.
    pub ledger: Ledger,
    /// Supported networks.
    pub networks: Networks,
    stop: crate::serve::StopSignal,
}

/// A running mock facilitator.
#[derive(Debug)]
pub struct MockFacilitator {
    server: RunningServer,
    state: Arc<FacilitatorState>,
}

impl MockFacilitator {
    /// Starts a facilitator on `config.bind`.
    pub async fn start(config: FacilitatorConfig) -> std::io::Result<Self> {
        let (stop_tx, stop_rx) = stop_channel();
        let state = Arc::new(FacilitatorState {
            journal: Journal::bounded(config.journal_capacity),
            faults: FaultSchedule::default(),
            ledger: Ledger::new(config.default_balance),
            networks: Networks {
                caip2: config.networks.clone(),
            },
            stop: stop_rx,
        });
        let server = serve(routes::router(state.clone()), config.bind, stop_tx).await?;
        Ok(Self { server, state })
    }

    /// Starts a facilitator with the default configuration on a free loopback port.
    pub async fn start_default() -> std::io::Result<Self> {
        Self::start(FacilitatorConfig::default()).await
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The journal of calls.
    pub fn journal(&self) -> &Journal {
        &self.state.journal
    }

    /// The fault schedule.
    pub fn faults(&self) -> &FaultSchedule {
        &self.state.faults
    }

    /// The simulated token ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.state.ledger
    }

    /// Stops it; requests in flight (including hanging faults) end.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
