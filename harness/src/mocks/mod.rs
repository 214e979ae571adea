//! Mock services a 402 server talks to, so paid flows run offline with real cryptography.
//! Each keeps a journal of calls and takes a fault schedule.

pub mod facilitator;

pub use facilitator::{FacilitatorConfig, MockFacilitator};
