//! paycheck: a conformance and load-testing harness for HTTP 402 payment servers
//! (x402 v1 and v2, t402).
//!
//! Data flows one way: `cli` → checks → `target`/`payer`/`mocks` → `report`. This crate
//! holds the pieces every check stands on:
//! - [`protocol`]: wire types and codecs, strict and lenient, validated against `schemas/`;
//! - [`payer`]: real EIP-3009 payments signed with alloy, and each kind of wrong payment;
//! - [`mocks`]: the mock facilitator with its journal and fault schedule;
//! - [`reference`]: the embedded, correct 402 servers.

pub mod bounded;
pub mod catalogue;
pub mod cli;
pub mod duration;
pub mod file_error;
pub mod load;
pub mod mocks;
pub mod payer;
pub mod props;
pub mod protocol;
pub mod reference;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod snapshot;
pub mod target;
