//! Mock services a 402 server talks to, so paid flows run offline with real cryptography:
//! the x402 facilitator and the Lightning backend of L402 servers. Each keeps a journal of
//! calls and takes a fault schedule ([`faults`]).

pub mod facilitator;
pub mod faults;
pub mod lightning;

pub use facilitator::{FacilitatorConfig, MockFacilitator};
pub use lightning::{LightningConfig, MockLightning};
