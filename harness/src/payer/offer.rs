//! An `exact` EVM offer reduced to what signing needs, from a v1 or v2 requirement.

use super::PayError;
use crate::protocol::amount::parse_atomic;
use crate::protocol::eip3009::TokenDomain;
use crate::protocol::network::chain_id;
use crate::protocol::v1::PaymentRequirementsV1;
use crate::protocol::v2::PaymentRequirements;
use alloy::primitives::{Address, U256};

/// What an EIP-3009 authorization for one offer must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactOffer {
    /// The network as the offer wrote it (CAIP-2 or a v1 name).
    pub network: String,
    /// EIP-155 chain id of that network.
    pub chain_id: u64,
    /// Token contract.
    pub asset: Address,
    /// Recipient.
    pub pay_to: Address,
    /// Amount in atomic units.
    pub amount: U256,
    /// EIP-712 domain name of the token.
    pub name: String,
    /// EIP-712 domain version of the token.
    pub version: String,
    /// The offer's `maxTimeoutSeconds`.
    pub max_timeout_seconds: u64,
}

impl ExactOffer {
    /// Reads a v2 (or t402) requirement.
    pub fn from_v2(req: &PaymentRequirements) -> Result<Self, PayError> {
        build(
            &req.scheme,
            &req.network,
            &req.amount,
            &req.asset,
            &req.pay_to,
            req.eip712_name_version(),
            req.max_timeout_seconds,
        )
    }

    /// Reads a v1 requirement.
    pub fn from_v1(req: &PaymentRequirementsV1) -> Result<Self, PayError> {
        build(
            &req.scheme,
            &req.network,
            &req.max_amount_required,
            &req.asset,
            &req.pay_to,
            req.eip712_name_version(),
            req.max_timeout_seconds,
        )
    }

    /// The token's EIP-712 domain.
    pub fn domain(&self) -> TokenDomain {
        TokenDomain {
            name: self.name.clone(),
            version: self.version.clone(),
            chain_id: self.chain_id,
            verifying_contract: self.asset,
        }
    }
}

fn build(
    scheme: &str,
    network: &str,
    amount: &str,
    asset: &str,
    pay_to: &str,
    name_version: Option<(&str, &str)>,
    max_timeout_seconds: u64,
) -> Result<ExactOffer, PayError> {
    let bad = |m: String| PayError::Unpayable(m);
    if scheme != "exact" {
        return Err(bad(format!("scheme '{scheme}' is not 'exact'")));
    }
    let chain_id =
        chain_id(network).ok_or_else(|| bad(format!("network '{network}' is not EVM")))?;
    let (name, version) =
        name_version.ok_or_else(|| bad("extra.name and extra.version are missing".into()))?;
    Ok(ExactOffer {
        network: network.to_string(),
        chain_id,
        asset: asset
            .parse()
            .map_err(|_| bad(format!("asset '{asset}' is not an address")))?,
        pay_to: pay_to
            .parse()
            .map_err(|_| bad(format!("payTo '{pay_to}' is not an address")))?,
        amount: parse_atomic(amount).map_err(|e| bad(e.to_string()))?,
        name: name.to_string(),
        version: version.to_string(),
        max_timeout_seconds,
    })
}
