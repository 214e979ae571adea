//! The L402 macaroon identifier, version 0: `version (u16, big-endian) ‖ payment_hash (32)
//! ‖ token_id (32)`, 66 bytes (L402 macaroon-spec.md "Version 0 Format"; aperture
//! `l402/identifier.go`). It is what binds a token to one invoice.

/// A version-0 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identifier {
    /// The identifier version (0 is the only one defined).
    pub version: u16,
    /// The invoice's payment hash, `sha256(preimage)`.
    pub payment_hash: [u8; 32],
    /// A random id naming this token (and its root key on the server).
    pub token_id: [u8; 32],
}

/// The length of a version-0 identifier.
pub const IDENTIFIER_LEN: usize = 66;

impl Identifier {
    /// A version-0 identifier.
    pub fn new(payment_hash: [u8; 32], token_id: [u8; 32]) -> Self {
        Self {
            version: 0,
            payment_hash,
            token_id,
        }
    }

    /// The 66 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(IDENTIFIER_LEN);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.payment_hash);
        out.extend_from_slice(&self.token_id);
        out
    }

    /// Reads a version-0 identifier; any other version or length is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < 2 {
            return Err("the identifier is shorter than its version field".into());
        }
        let version = u16::from_be_bytes([bytes[0], bytes[1]]);
        if version != 0 {
            return Err(format!("identifier version {version}; only 0 is defined"));
        }
        if bytes.len() != IDENTIFIER_LEN {
            return Err(format!(
                "a version-0 identifier is {IDENTIFIER_LEN} bytes; this one is {}",
                bytes.len()
            ));
        }
        Ok(Self {
            version,
            payment_hash: bytes[2..34].try_into().expect("length checked"),
            token_id: bytes[34..66].try_into().expect("length checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_refuse_other_versions() {
        let id = Identifier::new([0xaa; 32], [0x01; 32]);
        let bytes = id.encode();
        assert_eq!(bytes.len(), 66);
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(Identifier::decode(&bytes).unwrap(), id);
        let mut v1 = bytes.clone();
        v1[1] = 1;
        assert!(Identifier::decode(&v1).unwrap_err().contains("version 1"));
        assert!(Identifier::decode(&bytes[..65]).unwrap_err().contains("66"));
    }
}
