//! The embedded reference L402 server: a correct L402 resource server that creates its
//! invoices at an LNbits-compatible Lightning backend (paycheck's mock, or any), mints
//! macaroons bound to them (v0 identifier, `services` and `<service>_valid_until` caveats)
//! and checks credentials as the L402 specification says.
//!
//! Routes: a free `GET /health`, a paid `GET /premium` (service `premium`, 100 sat) and a
//! dearer paid `POST /compute` (service `compute`, 500 sat). In the `l402-single-use`
//! profile a credential works once, however it is re-encoded.

pub mod faults;
mod gate;
mod limiter;
mod lnbits;
mod routes;

use crate::protocol::L402Profile;
use crate::serve::{RunningServer, serve, stop_channel};
pub use faults::L402Fault;
pub use limiter::RateLimit;
use std::net::SocketAddr;
use std::time::Duration;

/// How a reference L402 server is set up.
#[derive(Debug, Clone)]
pub struct L402Config {
    /// Reusable credentials (the specification) or single-use ones.
    pub profile: L402Profile,
    /// The Lightning backend's base URL (LNbits API).
    pub lightning_url: String,
    /// The API key sent to the backend.
    pub lightning_api_key: String,
    /// Where to listen; port 0 picks a free port. Must be loopback.
    pub bind: SocketAddr,
    /// Price of `GET /premium`, satoshis.
    pub premium_price_sat: u64,
    /// Price of `POST /compute`, satoshis.
    pub compute_price_sat: u64,
    /// How long a token is valid (its `<service>_valid_until` caveat).
    pub token_ttl: Duration,
    /// How long an invoice can be paid.
    pub invoice_expiry: Duration,
    /// How long a call to the backend may take before the request fails with 503.
    pub lightning_timeout: Duration,
    /// How fast unpaid requests may create invoices; `None` for no limit.
    pub invoice_rate: Option<RateLimit>,
    /// A deliberately broken behaviour, for the mutation matrix; `None` is the correct server.
    pub fault: Option<L402Fault>,
}

impl L402Config {
    /// The default reference L402 server for `profile`, with its backend at `lightning_url`.
    pub fn new(profile: L402Profile, lightning_url: impl Into<String>) -> Self {
        Self {
            profile,
            lightning_url: lightning_url.into(),
            lightning_api_key: crate::mocks::lightning::TEST_API_KEY.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            premium_price_sat: 100,
            compute_price_sat: 500,
            token_ttl: Duration::from_secs(3600),
            invoice_expiry: Duration::from_secs(600),
            lightning_timeout: Duration::from_secs(5),
            invoice_rate: Some(RateLimit {
                burst: 100,
                per_second: 20.0,
            }),
            fault: None,
        }
    }
}

/// A running reference L402 server.
#[derive(Debug)]
pub struct L402Server {
    server: RunningServer,
    profile: L402Profile,
}

impl L402Server {
    /// Starts a reference L402 server.
    pub async fn start(config: L402Config) -> std::io::Result<Self> {
        let (stop_tx, _) = stop_channel();
        let profile = config.profile;
        let bind = config.bind;
        let server = serve(routes::router(config), bind, stop_tx).await?;
        Ok(Self { server, profile })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Its profile.
    pub fn profile(&self) -> L402Profile {
        self.profile
    }

    /// Stops it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
