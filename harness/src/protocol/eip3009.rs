//! EIP-3009 `TransferWithAuthorization` typed data (EIP-712), shared by the payer that
//! signs it and the mock facilitator that recovers its signer.

use super::amount::parse_atomic;
use super::exact::{Authorization, ExactEvmPayload};
use alloy::primitives::{Address, B256, Signature, U256};
use alloy::sol_types::{Eip712Domain, SolStruct};
use std::borrow::Cow;

alloy::sol! {
    /// The EIP-3009 typed-data struct signed by the payer.
    #[derive(Debug, PartialEq, Eq)]
    struct TransferWithAuthorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }
}

/// The token's EIP-712 domain: `extra.name`, `extra.version`, the chain id, and the asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDomain {
    /// Token name, from the offer's `extra.name`.
    pub name: String,
    /// Token version, from the offer's `extra.version`.
    pub version: String,
    /// EIP-155 chain id, from the offer's network.
    pub chain_id: u64,
    /// The token contract, the offer's `asset`.
    pub verifying_contract: Address,
}

impl TokenDomain {
    /// The alloy EIP-712 domain.
    pub fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Owned(self.name.clone())),
            Some(Cow::Owned(self.version.clone())),
            Some(U256::from(self.chain_id)),
            Some(self.verifying_contract),
            None,
        )
    }
}

/// The EIP-712 signing hash of an authorization under a token domain.
pub fn signing_hash(domain: &TokenDomain, auth: &TransferWithAuthorization) -> B256 {
    auth.eip712_signing_hash(&domain.eip712())
}

/// Parses the wire authorization (all strings) into the typed struct.
pub fn parse_authorization(a: &Authorization) -> Result<TransferWithAuthorization, String> {
    let addr = |name: &str, v: &str| {
        v.parse::<Address>()
            .map_err(|e| format!("authorization.{name} '{v}': {e}"))
    };
    let uint =
        |name: &str, v: &str| parse_atomic(v).map_err(|e| format!("authorization.{name}: {e}"));
    Ok(TransferWithAuthorization {
        from: addr("from", &a.from)?,
        to: addr("to", &a.to)?,
        value: uint("value", &a.value)?,
        validAfter: uint("validAfter", &a.valid_after)?,
        validBefore: uint("validBefore", &a.valid_before)?,
        nonce: a
            .nonce
            .parse::<B256>()
            .map_err(|e| format!("authorization.nonce '{}': {e}", a.nonce))?,
    })
}

/// The wire form of a typed authorization.
pub fn wire_authorization(auth: &TransferWithAuthorization) -> Authorization {
    Authorization {
        from: auth.from.to_checksum(None),
        to: auth.to.to_checksum(None),
        value: auth.value.to_string(),
        valid_after: auth.validAfter.to_string(),
        valid_before: auth.validBefore.to_string(),
        nonce: auth.nonce.to_string(),
    }
}

/// Half the secp256k1 group order: a canonical signature's `s` is at most this.
const HALF_N: U256 = alloy::primitives::uint!(
    0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256
);

/// Parses a 65-byte `0x` hex signature as the token contract's ecrecover does: `v` is
/// 27 or 28 and `s` is in the lower half of the curve order (EIP-2; USDC's ECRecover
/// and OpenZeppelin's ECDSA refuse anything else).
pub fn parse_signature(text: &str) -> Result<Signature, String> {
    let hex = text
        .strip_prefix("0x")
        .ok_or_else(|| "signature must start with 0x".to_string())?;
    let bytes = alloy::primitives::hex::decode(hex).map_err(|e| format!("signature: {e}"))?;
    if bytes.len() != 65 {
        return Err(format!("signature: {} bytes, expected 65", bytes.len()));
    }
    if !matches!(bytes[64], 27 | 28) {
        return Err(format!("signature: v = {}, expected 27 or 28", bytes[64]));
    }
    let signature = Signature::from_raw(&bytes).map_err(|e| format!("signature: {e}"))?;
    if signature.s() > HALF_N {
        return Err(
            "signature: s is in the upper half of the curve order (not canonical, EIP-2)".into(),
        );
    }
    Ok(signature)
}

/// Recovers the address that signed an exact/EVM payload under a token domain.
pub fn recover_signer(payload: &ExactEvmPayload, domain: &TokenDomain) -> Result<Address, String> {
    let auth = parse_authorization(&payload.authorization)?;
    let signature = parse_signature(&payload.signature)?;
    signature
        .recover_address_from_prehash(&signing_hash(domain, &auth))
        .map_err(|e| format!("signature does not recover: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};

    #[test]
    fn type_hash_is_the_canonical_eip3009_one() {
        assert_eq!(
            TransferWithAuthorization::eip712_type_hash(&TransferWithAuthorization {
                from: Address::ZERO,
                to: Address::ZERO,
                value: U256::ZERO,
                validAfter: U256::ZERO,
                validBefore: U256::ZERO,
                nonce: B256::ZERO,
            }),
            b256!("7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267")
        );
    }

    #[test]
    fn the_spec_example_signature_recovers_to_its_payer() {
        // x402 transports-v2/http.md "Payment Payload Transmission" (protocols.md §8 #2).
        let payload = ExactEvmPayload {
            signature: "0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c".into(),
            authorization: Authorization {
                from: "0x857b06519E91e3A54538791bDbb0E22373e36b66".into(),
                to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
                value: "10000".into(),
                valid_after: "1740672089".into(),
                valid_before: "1740672154".into(),
                nonce: "0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480".into(),
            },
        };
        let domain = TokenDomain {
            name: "USDC".into(),
            version: "2".into(),
            chain_id: 84532,
            verifying_contract: address!("036CbD53842c5426634e7929541eC2318f3dCF7e"),
        };
        assert_eq!(
            recover_signer(&payload, &domain).unwrap(),
            address!("857b06519E91e3A54538791bDbb0E22373e36b66")
        );
        let other_chain = TokenDomain {
            chain_id: 8453,
            ..domain
        };
        assert_ne!(
            recover_signer(&payload, &other_chain).unwrap(),
            address!("857b06519E91e3A54538791bDbb0E22373e36b66")
        );
    }
}
