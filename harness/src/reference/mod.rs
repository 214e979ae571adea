//! The embedded reference servers: correct x402 v2, x402 v1 and t402 resource servers that
//! call a facilitator over HTTP the way real servers do, and a correct L402 server
//! ([`l402`]) that calls a Lightning backend.
//!
//! x402 routes: a free `GET /health`, a paid `GET /premium`, and a dearer paid
//! `POST /compute` whose handler fails on `{"fail":true}`. Each paid request is verified
//! before the handler runs and settled only after it succeeded; a `HEAD` is never charged.

mod crashable;
mod facilitator_client;
pub mod faults;
mod idempotency;
pub mod l402;
mod offers;
mod outbox;
mod paywall;
mod plain;
mod routes;

use crate::protocol::Dialect;
use crate::serve::{RunningServer, serve, stop_channel};
use alloy::primitives::{Address, address};
use std::net::SocketAddr;
use std::time::Duration;

pub use crashable::CrashableServer;
pub use faults::ReferenceFault;
pub use offers::{PaidRoute, paid_routes};

/// The token the reference servers charge in: USDC on Base Sepolia (protocols.md §2.10).
pub const USDC_BASE_SEPOLIA: Address = address!("036CbD53842c5426634e7929541eC2318f3dCF7e");
/// The recipient the reference servers name in their offers (the spec examples' `payTo`).
pub const MERCHANT: Address = address!("209693Bc6afc0C5328bA36FaF03C514EF312287C");

/// How a reference server is set up.
#[derive(Debug, Clone)]
pub struct ReferenceConfig {
    /// Which protocol it speaks.
    pub dialect: Dialect,
    /// The facilitator's base URL.
    pub facilitator_url: String,
    /// Where to listen; port 0 picks a free port. Must be loopback.
    pub bind: SocketAddr,
    /// EIP-155 chain id of the network it charges on.
    pub chain_id: u64,
    /// Token contract.
    pub asset: Address,
    /// Token EIP-712 name.
    pub token_name: String,
    /// Token EIP-712 version.
    pub token_version: String,
    /// Recipient.
    pub pay_to: Address,
    /// Price of `GET /premium` in atomic units.
    pub premium_price: u64,
    /// Price of `POST /compute` in atomic units.
    pub compute_price: u64,
    /// The offers' `maxTimeoutSeconds`.
    pub max_timeout_seconds: u64,
    /// How long a call to the facilitator may take before the request fails with 504.
    pub facilitator_timeout: Duration,
    /// Requests whose headers together exceed this many bytes get 431.
    pub max_header_bytes: usize,
    /// Requests whose payment header alone exceeds this many bytes get 431.
    pub max_payment_header_bytes: usize,
    /// Declares and follows the `upfront` payment flow (settle, then run the handler, no
    /// `/verify`) instead of the default `authorization` flow (verify, handler, settle).
    pub upfront: bool,
    /// Whether it offers the `payment-identifier` extension (x402 v2 and t402 only).
    pub payment_id: PaymentIdMode,
    /// A deliberately broken behaviour, for the mutation matrix; `None` is the correct server.
    pub fault: Option<ReferenceFault>,
}

impl ReferenceConfig {
    /// The default reference server for `dialect`, paying through `facilitator_url`.
    pub fn new(dialect: Dialect, facilitator_url: impl Into<String>) -> Self {
        Self {
            dialect,
            facilitator_url: facilitator_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            chain_id: 84532,
            asset: USDC_BASE_SEPOLIA,
            token_name: "USDC".into(),
            token_version: "2".into(),
            pay_to: MERCHANT,
            premium_price: 10_000,
            compute_price: 50_000,
            max_timeout_seconds: 60,
            facilitator_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_payment_header_bytes: 8 * 1024,
            upfront: false,
            payment_id: PaymentIdMode::default_for(dialect),
            fault: None,
        }
    }
}

/// Whether a reference server offers the `payment-identifier` extension (an idempotency
/// key that makes a resent payment get its first answer, not a second charge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PaymentIdMode {
    /// Not advertised; ids in payments are ignored.
    Off,
    /// Advertised with `required: false`: a payment may carry an id.
    Optional,
    /// Advertised with `required: true`: a payment without an id gets 400.
    Required,
}

impl PaymentIdMode {
    /// The embedded default: x402 v2 requires an id, t402 offers it, v1 has no extensions.
    pub fn default_for(dialect: Dialect) -> Self {
        match dialect {
            Dialect::X402V2 => PaymentIdMode::Required,
            Dialect::T402 => PaymentIdMode::Optional,
            Dialect::X402V1 | Dialect::T402V1 => PaymentIdMode::Off,
        }
    }
}

/// A running reference server.
#[derive(Debug)]
pub struct ReferenceServer {
    server: RunningServer,
    dialect: Dialect,
}

impl ReferenceServer {
    /// Starts a reference server.
    pub async fn start(config: ReferenceConfig) -> std::io::Result<Self> {
        let (stop_tx, _) = stop_channel();
        let dialect = config.dialect;
        let bind = config.bind;
        let router = routes::router(config);
        let server = serve(router, bind, stop_tx).await?;
        Ok(Self { server, dialect })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The protocol it speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Stops it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// The HTTP client a reference server calls its backend with (facilitator or LNbits):
/// loopback, so no proxy; every call bounded by `timeout`.
pub(crate) fn backend_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds")
}
