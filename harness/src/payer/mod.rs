//! Makes payments: EIP-3009 authorizations signed with alloy for any `exact` EVM offer, in
//! the x402 v1, v2 and t402 shapes, and each kind of wrong payment on request; and L402
//! invoices paid through the mock Lightning backend ([`lightning`]).
//!
//! Signing is guarded by [`keys::KeyPolicy`]: test keys only sign for known test networks;
//! a mainnet network needs `--allow-mainnet` and a key from the environment.

pub mod keys;
pub mod lightning;
pub mod offer;
pub mod wrong;

use crate::protocol::eip3009::{TransferWithAuthorization, signing_hash, wire_authorization};
use crate::protocol::exact::ExactEvmPayload;
use crate::protocol::v1::{PaymentPayloadV1, PaymentRequirementsV1};
use crate::protocol::v2::{PaymentPayload, PaymentRequirements, ResourceInfo};
use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::Secp256k1Signer;
pub use keys::{KeyPolicy, KeySource};
pub use offer::ExactOffer;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
pub use wrong::WrongPayment;

/// How far back `validAfter` is dated, as the reference clients do (TSEVM `eip3009.ts`).
pub const VALID_AFTER_SLACK_SECS: u64 = 600;

/// Why a payment could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    /// The offer is not something paycheck can pay (not exact on EVM, fields missing).
    #[error("cannot pay this offer: {0}")]
    Unpayable(String),
    /// The network is not a known test network and mainnet was not allowed.
    #[error(
        "refusing to sign for network '{0}': it is not a known test network. paycheck signs with test keys for test networks only; to pay on a mainnet, pass --allow-mainnet and a key in PAYCHECK_PRIVATE_KEY"
    )]
    MainnetRefused(String),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Signs payments with one key under one [`KeyPolicy`]. Cloning it copies the key into
/// memory only (for signing on several threads); it never prints it.
#[derive(Clone)]
pub struct Payer {
    signer: Secp256k1Signer,
    policy: KeyPolicy,
}

impl fmt::Debug for Payer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payer")
            .field("address", &self.address())
            .field("policy", &self.policy)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Payer {
    /// A payer with the `index`-th test key from `fixtures/keys/test-keys.json`.
    pub fn test(index: usize) -> Self {
        Self::from_source(KeySource::TestKey(index), false)
            .expect("the embedded test keys are valid")
    }

    /// A payer with a key from `source`. `allow_mainnet` takes effect only for a key from
    /// the environment: test keys never sign for mainnet.
    pub fn from_source(source: KeySource, allow_mainnet: bool) -> Result<Self, keys::KeyError> {
        let (signer, policy) = keys::load(&source, allow_mainnet)?;
        Ok(Self { signer, policy })
    }

    /// The payer's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The policy this payer signs under.
    pub fn policy(&self) -> KeyPolicy {
        self.policy
    }

    /// Signs an EIP-3009 authorization for `offer`, made wrong in the way `wrong` says.
    pub fn sign_exact(
        &self,
        offer: &ExactOffer,
        wrong: Option<&WrongPayment>,
    ) -> Result<ExactEvmPayload, PayError> {
        self.policy.check_network(&offer.network)?;
        let now = unix_now();
        let domain = offer.domain();
        let mut auth = TransferWithAuthorization {
            from: self.address(),
            to: offer.pay_to,
            value: offer.amount,
            validAfter: U256::from(now.saturating_sub(VALID_AFTER_SLACK_SECS)),
            validBefore: U256::from(now + offer.max_timeout_seconds),
            nonce: B256::random(),
        };
        let mut signer = &self.signer;
        let other_signer;
        match wrong {
            None => {}
            Some(w) => {
                w.apply_to_authorization(&mut auth, now);
                if matches!(w, WrongPayment::WrongSigner) {
                    other_signer = Secp256k1Signer::random();
                    signer = &other_signer;
                }
            }
        }
        let hash = signing_hash(&domain, &auth);
        let signature = signer
            .sign_hash_sync(&hash)
            .map_err(|e| PayError::Signing(e.to_string()))?;
        let mut payload = ExactEvmPayload {
            signature: format!("0x{}", alloy::primitives::hex::encode(signature.as_bytes())),
            authorization: wire_authorization(&auth),
        };
        if let Some(w) = wrong {
            w.apply_to_signature(&mut payload.signature);
        }
        Ok(payload)
    }

    /// A v2 (or t402) payment for `offer`, echoing it verbatim into `accepted`.
    pub fn pay_v2(
        &self,
        offer: &PaymentRequirements,
        resource: Option<ResourceInfo>,
        wrong: Option<&WrongPayment>,
    ) -> Result<PaymentPayload, PayError> {
        let mut accepted = offer.clone();
        if let Some(w) = wrong {
            w.apply_to_accepted_v2(&mut accepted);
        }
        let exact = ExactOffer::from_v2(&accepted)?;
        let payload = self.sign_exact(&exact, wrong)?;
        Ok(PaymentPayload {
            x402_version: 2,
            resource,
            accepted,
            payload: serde_json::to_value(payload).expect("payload serialises"),
            extensions: None,
        })
    }

    /// A v1 payment for `offer`.
    pub fn pay_v1(
        &self,
        offer: &PaymentRequirementsV1,
        wrong: Option<&WrongPayment>,
    ) -> Result<PaymentPayloadV1, PayError> {
        let mut offer = offer.clone();
        if let Some(w) = wrong {
            w.apply_to_offer_v1(&mut offer);
        }
        let exact = ExactOffer::from_v1(&offer)?;
        let payload = self.sign_exact(&exact, wrong)?;
        Ok(PaymentPayloadV1 {
            x402_version: 1,
            scheme: offer.scheme.clone(),
            network: offer.network.clone(),
            payload: serde_json::to_value(payload).expect("payload serialises"),
        })
    }
}

#[cfg(test)]
mod tests;
