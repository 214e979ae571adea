//! Where signing keys come from, and the policy that keeps them on test networks.
//!
//! Keys are never formatted: errors name the source, not the value, and [`super::Payer`]'s
//! `Debug` prints only the address.

use super::PayError;
use crate::protocol::network::is_known_testnet;
use alloy::signers::local::Secp256k1Signer;

/// The public test keys shipped in `fixtures/keys/test-keys.json` (test networks only).
const TEST_KEYS_JSON: &str = include_str!("../../../fixtures/keys/test-keys.json");

/// The environment variable a real key is read from.
pub const KEY_ENV_VAR: &str = "PAYCHECK_PRIVATE_KEY";

/// Where a payer's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The n-th embedded public test key.
    TestKey(usize),
    /// A hex key in the named environment variable.
    Env(String),
}

/// Why a key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No test key with that index.
    #[error("there is no test key number {0} in fixtures/keys/test-keys.json")]
    NoTestKey(usize),
    /// The environment variable is not set.
    #[error("environment variable {0} is not set; put a hex private key in it")]
    EnvMissing(String),
    /// The value is not a secp256k1 private key (the value itself is never shown).
    #[error("environment variable {0} does not hold a 32-byte hex private key")]
    EnvInvalid(String),
}

/// What a payer may sign for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// True only with `--allow-mainnet` and a key from the environment.
    pub mainnet_allowed: bool,
}

impl KeyPolicy {
    /// Refuses a network that is not a known test network unless mainnet is allowed.
    pub fn check_network(&self, network: &str) -> Result<(), PayError> {
        if self.mainnet_allowed || is_known_testnet(network) {
            Ok(())
        } else {
            Err(PayError::MainnetRefused(network.to_string()))
        }
    }
}

/// The mock Lightning backend's node key (regtest invoices only), as hex.
pub fn lightning_node_key() -> String {
    let doc: serde_json::Value =
        serde_json::from_str(TEST_KEYS_JSON).expect("test-keys.json is JSON");
    doc["lightning_node_key"]
        .as_str()
        .expect("test-keys.json has lightning_node_key")
        .to_string()
}

/// The embedded test keys, as hex strings.
pub fn test_keys() -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(TEST_KEYS_JSON).expect("test-keys.json is JSON");
    doc["keys"]
        .as_array()
        .expect("test-keys.json has keys")
        .iter()
        .map(|k| k.as_str().expect("keys are strings").to_string())
        .collect()
}

fn signer_from_hex(hex: &str) -> Option<Secp256k1Signer> {
    let hex = hex.trim();
    let bytes = alloy::primitives::hex::decode(hex.strip_prefix("0x").unwrap_or(hex)).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Secp256k1Signer::from_slice(&bytes).ok()
}

/// Loads a key and the policy it signs under.
pub fn load(
    source: &KeySource,
    allow_mainnet: bool,
) -> Result<(Secp256k1Signer, KeyPolicy), KeyError> {
    match source {
        KeySource::TestKey(i) => {
            let keys = test_keys();
            let hex = keys.get(*i).ok_or(KeyError::NoTestKey(*i))?;
            let signer = signer_from_hex(hex).expect("embedded test keys are valid");
            Ok((
                signer,
                KeyPolicy {
                    mainnet_allowed: false,
                },
            ))
        }
        KeySource::Env(var) => {
            let value = std::env::var(var).map_err(|_| KeyError::EnvMissing(var.clone()))?;
            let signer =
                signer_from_hex(&value).ok_or_else(|| KeyError::EnvInvalid(var.clone()))?;
            Ok((
                signer,
                KeyPolicy {
                    mainnet_allowed: allow_mainnet,
                },
            ))
        }
    }
}
