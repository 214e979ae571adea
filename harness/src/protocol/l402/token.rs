//! L402 tokens as servers issue them: a V2 macaroon whose identifier commits to the
//! invoice's payment hash (the specification and aperture), or l402-kit's unsigned JSON
//! (`{"hash": …, "exp": …}`), or something else paycheck cannot look inside.

use super::base64_any;
use super::identifier::Identifier;
use super::macaroon::Macaroon;
use alloy::primitives::hex;
use serde_json::Value;

/// What a token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A V2 macaroon; its identifier, when it is a version-0 L402 one.
    Macaroon {
        /// The macaroon.
        macaroon: Box<Macaroon>,
        /// Its identifier decoded, or why it is not a version-0 identifier.
        identifier: Result<Identifier, String>,
    },
    /// l402-kit's token: base64 of `{"hash": <hex>, "exp": <ms>}`, with no signature.
    Json {
        /// The payment hash it names.
        hash: Option<[u8; 32]>,
        /// Its `exp` (Unix milliseconds).
        exp: Option<i64>,
    },
    /// Neither: opaque bytes.
    Opaque,
}

/// A token read from a challenge or credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text as sent (base64).
    pub text: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// What it is.
    pub kind: TokenKind,
}

impl Token {
    /// Reads a token from its base64 text (any alphabet, padded or not).
    pub fn read(text: &str) -> Result<Self, String> {
        let bytes = base64_any(text)?;
        let kind = if let Ok(m) = Macaroon::from_bytes(&bytes) {
            TokenKind::Macaroon {
                identifier: Identifier::decode(&m.identifier),
                macaroon: Box::new(m),
            }
        } else if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) {
            TokenKind::Json {
                hash: map
                    .get("hash")
                    .and_then(Value::as_str)
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| b.try_into().ok()),
                exp: map.get("exp").and_then(Value::as_i64),
            }
        } else {
            TokenKind::Opaque
        };
        Ok(Self {
            text: text.to_string(),
            bytes,
            kind,
        })
    }

    /// The payment hash the token commits to, when paycheck can see it.
    pub fn payment_hash(&self) -> Option<[u8; 32]> {
        match &self.kind {
            TokenKind::Macaroon { identifier, .. } => {
                identifier.as_ref().ok().map(|i| i.payment_hash)
            }
            TokenKind::Json { hash, .. } => *hash,
            TokenKind::Opaque => None,
        }
    }

    /// The macaroon, when the token is one.
    pub fn macaroon(&self) -> Option<&Macaroon> {
        match &self.kind {
            TokenKind::Macaroon { macaroon, .. } => Some(macaroon),
            _ => None,
        }
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Macaroon {
                macaroon,
                identifier,
            } => format!(
                "a V2 macaroon ({}, {} caveat(s): {})",
                match identifier {
                    Ok(_) => "version-0 L402 identifier".to_string(),
                    Err(e) => format!("identifier not L402: {e}"),
                },
                macaroon.caveats.len(),
                macaroon
                    .caveats
                    .iter()
                    .map(|c| c.text())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            TokenKind::Json { .. } => "an unsigned JSON token (l402-kit style)".into(),
            TokenKind::Opaque => format!("{} opaque bytes", self.bytes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::encode_base64;

    #[test]
    fn macaroon_json_and_opaque_tokens_are_told_apart() {
        let id = Identifier::new([5; 32], [6; 32]);
        let m = Macaroon::mint(&[1; 32], id.encode(), "lsat");
        let t = Token::read(&m.to_base64()).unwrap();
        assert_eq!(t.payment_hash(), Some([5; 32]));
        assert!(t.describe().contains("version-0"));
        let json = encode_base64(format!(r#"{{"hash":"{}","exp":1}}"#, "07".repeat(32)).as_bytes());
        let j = Token::read(&json).unwrap();
        assert_eq!(j.payment_hash(), Some([7; 32]));
        assert!(matches!(j.kind, TokenKind::Json { exp: Some(1), .. }));
        // The specification's example token: 21 bytes (wrongly padded), not a macaroon.
        let spec = Token::read("AGIAJEemVQUTEyNCR0exk7ek90Cg==").unwrap();
        assert_eq!((spec.kind, spec.bytes.len()), (TokenKind::Opaque, 21));
        assert!(Token::read("***").is_err());
    }
}
