//! The embedded default target: a mock facilitator with a reference server in front of it.

use super::Target;
use crate::mocks::MockFacilitator;
use crate::protocol::Dialect;
use crate::reference::{ReferenceConfig, ReferenceFault, ReferenceServer};
use std::sync::Arc;
use std::time::Duration;

/// How long the embedded servers wait for a hanging facilitator: short, so the
/// resilience checks take a second, not a minute.
pub const EMBEDDED_FACILITATOR_TIMEOUT: Duration = Duration::from_millis(750);

/// A running embedded reference server and its mock facilitator.
#[derive(Debug)]
pub struct Embedded {
    /// The mock facilitator.
    pub facilitator: Arc<MockFacilitator>,
    /// The reference server.
    pub server: ReferenceServer,
}

impl Embedded {
    /// Starts the embedded stack for `dialect`, correct or with one `fault`.
    pub async fn start(dialect: Dialect, fault: Option<ReferenceFault>) -> std::io::Result<Self> {
        Self::start_with(dialect, |c| c.fault = fault).await
    }

    /// Starts the embedded stack with its reference server's configuration adjusted.
    pub async fn start_with(
        dialect: Dialect,
        adjust: impl FnOnce(&mut ReferenceConfig),
    ) -> std::io::Result<Self> {
        let facilitator = Arc::new(MockFacilitator::start_default().await?);
        let mut config = ReferenceConfig::new(dialect, facilitator.url());
        config.facilitator_timeout = EMBEDDED_FACILITATOR_TIMEOUT;
        adjust(&mut config);
        let server = ReferenceServer::start(config).await?;
        Ok(Self {
            facilitator,
            server,
        })
    }

    /// The target with the reference server's routes named: two paid routes at different
    /// prices, a free route and a failing paid request.
    pub fn target(&self, timeout: Duration) -> Target {
        let mut target = Target::new(&self.server.url(), self.server.dialect(), timeout);
        target.paid = vec![
            "GET /premium".parse().expect("valid route"),
            "POST /compute {}".parse().expect("valid route"),
        ];
        target.free = Some("GET /health".parse().expect("valid route"));
        target.failing = Some(
            "POST /compute {\"fail\":true}"
                .parse()
                .expect("valid route"),
        );
        target
    }

    /// Stops both servers.
    pub async fn stop(self) {
        self.server.stop().await;
        if let Ok(f) = Arc::try_unwrap(self.facilitator) {
            f.stop().await;
        }
    }
}
