//! L402 (formerly LSAT): a 402 whose `WWW-Authenticate` challenge carries a token (a
//! macaroon) and a BOLT11 invoice; the client pays the invoice and proves it with the
//! preimage: `Authorization: L402 <token>:<preimage>`.
//!
//! - [`challenge`]: the `WWW-Authenticate` grammar, both parameter forms, LSAT;
//! - [`credential`]: the `Authorization` grammar;
//! - [`macaroon`] and [`identifier`]: the token format servers issue;
//! - [`token`]: telling a token's kind and the payment hash it commits to;
//! - [`invoice`]: BOLT11 decoding and signing.

pub mod challenge;
pub mod credential;
pub mod identifier;
pub mod invoice;
pub mod macaroon;
pub mod token;

pub use challenge::{ChallengeParseError, Challenges, L402Challenge, read_challenges};
pub use credential::{Credential, CredentialError, format_credential, parse_credential};
pub use identifier::Identifier;
pub use invoice::{Invoice, InvoiceError, LnNetwork, decode_invoice};
pub use macaroon::Macaroon;
pub use token::{Token, TokenKind};

/// `sha256(bytes)`, the hash that binds a preimage to an invoice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Decodes base64 in any alphabet, with right, wrong or no padding. Tokens are read
/// leniently, so that a check can grade what is inside; the specification's own example
/// token (`AGIAJEemVQUTEyNCR0exk7ek90Cg==`, 28 characters and two `=`) needs it.
pub(crate) fn base64_any(text: &str) -> Result<Vec<u8>, String> {
    crate::protocol::codec::decode_base64(text.trim_end_matches('='))
        .map(|(bytes, _)| bytes)
        .map_err(|e| e.to_string())
}
