//! The embedded default target of each suite: a reference server with the mock it pays
//! through in front of it: the mock facilitator for x402 v2, v1 and t402, the mock
//! Lightning backend for L402.

use super::Target;
use super::restart::Restart;
use crate::catalogue::Ctx;
use crate::mocks::{MockFacilitator, MockLightning};
use crate::payer::Payer;
use crate::protocol::{Dialect, L402Profile, Suite};
use crate::reference::l402::{L402Config, L402Fault, L402Server};
use crate::reference::{CrashableServer, ReferenceConfig, ReferenceFault, ReferenceServer};
use std::sync::Arc;
use std::time::Duration;

/// How long the embedded servers wait for a hanging facilitator or Lightning backend:
/// short, so the resilience checks take a second, not a minute.
pub const EMBEDDED_FACILITATOR_TIMEOUT: Duration = Duration::from_millis(750);

/// The mock facilitator's journal keeps this many entries in a load run.
pub const LOAD_JOURNAL_CAPACITY: usize = 10_000;

/// The reference server of an embedded stack.
#[derive(Debug)]
enum Server {
    X402(ReferenceServer),
    /// The conformance runs' x402 server, which `retry/crash-restart` may crash.
    Crashable(Arc<CrashableServer>),
    L402(L402Server),
}

/// A running embedded reference server and its mock.
#[derive(Debug)]
pub struct Embedded {
    /// The mock facilitator (x402 suites).
    pub facilitator: Option<Arc<MockFacilitator>>,
    /// The mock Lightning backend (L402 suites).
    pub lightning: Option<Arc<MockLightning>>,
    server: Server,
    /// A second x402 reference server on the same mock (the `replicas/*` checks).
    replica: Option<ReferenceServer>,
    suite: Suite,
}

impl Embedded {
    /// Starts the embedded x402 stack for `dialect`, correct or with one `fault`.
    pub async fn start(dialect: Dialect, fault: Option<ReferenceFault>) -> std::io::Result<Self> {
        Self::start_with(dialect, |c| c.fault = fault).await
    }

    /// Starts the embedded x402 stack with its reference server's configuration adjusted.
    pub async fn start_with(
        dialect: Dialect,
        adjust: impl FnOnce(&mut ReferenceConfig),
    ) -> std::io::Result<Self> {
        let facilitator = Arc::new(MockFacilitator::start_default().await?);
        let mut config = ReferenceConfig::new(dialect, facilitator.url());
        config.facilitator_timeout = EMBEDDED_FACILITATOR_TIMEOUT;
        adjust(&mut config);
        let server = CrashableServer::start(config.clone()).await?;
        let replica = ReferenceServer::start(config).await?;
        Ok(Self {
            facilitator: Some(facilitator),
            lightning: None,
            server: Server::Crashable(Arc::new(server)),
            replica: Some(replica),
            suite: Suite::X402(dialect),
        })
    }

    /// Starts the embedded L402 stack for `profile`, correct or with one `fault`.
    pub async fn start_l402(
        profile: L402Profile,
        fault: Option<L402Fault>,
    ) -> std::io::Result<Self> {
        Self::start_l402_with(profile, |c| c.fault = fault).await
    }

    /// Starts the embedded L402 stack with its reference server's configuration adjusted.
    pub async fn start_l402_with(
        profile: L402Profile,
        adjust: impl FnOnce(&mut L402Config),
    ) -> std::io::Result<Self> {
        let lightning = Arc::new(MockLightning::start_default().await?);
        let mut config = L402Config::new(profile, lightning.url());
        config.lightning_timeout = EMBEDDED_FACILITATOR_TIMEOUT;
        adjust(&mut config);
        let server = L402Server::start(config).await?;
        Ok(Self {
            facilitator: None,
            lightning: Some(lightning),
            server: Server::L402(server),
            replica: None,
            suite: Suite::L402(profile),
        })
    }

    /// Starts the correct embedded stack of a suite for a load run: the facilitator keeps a
    /// bounded journal, L402 invoice creation is not rate-limited, and the servers wait for
    /// their mocks as long as they do by default (5 s), not the conformance runs' 750 ms.
    pub async fn start_for_load(suite: Suite) -> std::io::Result<Self> {
        match suite {
            Suite::X402(dialect) => {
                let facilitator = Arc::new(
                    MockFacilitator::start(crate::mocks::FacilitatorConfig {
                        journal_capacity: Some(LOAD_JOURNAL_CAPACITY),
                        ..crate::mocks::FacilitatorConfig::default()
                    })
                    .await?,
                );
                let config = ReferenceConfig::new(dialect, facilitator.url());
                let server = ReferenceServer::start(config).await?;
                Ok(Self {
                    facilitator: Some(facilitator),
                    lightning: None,
                    server: Server::X402(server),
                    replica: None,
                    suite,
                })
            }
            Suite::L402(profile) => {
                let lightning = Arc::new(MockLightning::start_default().await?);
                let mut config = L402Config::new(profile, lightning.url());
                config.invoice_rate = None;
                let server = L402Server::start(config).await?;
                Ok(Self {
                    facilitator: None,
                    lightning: Some(lightning),
                    server: Server::L402(server),
                    replica: None,
                    suite,
                })
            }
        }
    }

    /// Starts the correct embedded stack of any suite.
    pub async fn start_suite(suite: Suite) -> std::io::Result<Self> {
        match suite {
            Suite::X402(d) => Self::start(d, None).await,
            Suite::L402(p) => Self::start_l402(p, None).await,
        }
    }

    /// The suite it serves.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The reference server's base URL.
    pub fn url(&self) -> String {
        match &self.server {
            Server::X402(s) => s.url(),
            Server::Crashable(s) => s.url(),
            Server::L402(s) => s.url(),
        }
    }

    /// The target with the reference server's routes named: two paid routes at different
    /// prices, a free route, and (x402) a failing and a queued paid request.
    pub fn target(&self, timeout: Duration) -> Target {
        let mut target = Target::new(&self.url(), self.suite, timeout);
        target.paid = vec![
            "GET /premium".parse().expect("valid route"),
            "POST /compute {}".parse().expect("valid route"),
        ];
        target.free = Some("GET /health".parse().expect("valid route"));
        if matches!(self.suite, Suite::X402(_)) {
            target.failing = Some(
                "POST /compute {\"fail\":true}"
                    .parse()
                    .expect("valid route"),
            );
            target.queued = Some(
                "POST /compute {\"queue\":true}"
                    .parse()
                    .expect("valid route"),
            );
        }
        target
    }

    /// What checks need to run against this stack.
    pub fn ctx(&self, timeout: Duration, payer: Payer) -> Ctx {
        let target = self.target(timeout);
        let replicas = self
            .replica
            .iter()
            .map(|r| {
                let mut t = target.clone();
                t.base_url = r.url();
                t
            })
            .collect();
        Ctx {
            replicas,
            target,
            facilitator: self.facilitator.clone(),
            lightning: self.lightning.clone(),
            payer,
            restart: match &self.server {
                Server::Crashable(s) => Some(s.clone() as Arc<dyn Restart>),
                Server::X402(_) | Server::L402(_) => None,
            },
        }
    }

    /// Stops the server and its mock.
    pub async fn stop(self) {
        if let Some(r) = self.replica {
            r.stop().await;
        }
        match self.server {
            Server::X402(s) => s.stop().await,
            Server::Crashable(s) => s.stop().await,
            Server::L402(s) => s.stop().await,
        }
        if let Some(f) = self.facilitator.and_then(|f| Arc::try_unwrap(f).ok()) {
            f.stop().await;
        }
        if let Some(l) = self.lightning.and_then(|l| Arc::try_unwrap(l).ok()) {
            l.stop().await;
        }
    }
}
