//! The L402 credential: `Authorization: L402 <base64 token>[,<base64 token>…]:<hex preimage>`
//! (L402 protocol-specification.md "Grammar"; bLIP-26). The scheme is case-insensitive and
//! `LSAT` is accepted in its place; control characters or extra colons make a credential
//! invalid.

use alloy::primitives::hex;

/// The credential header value for `scheme`, `token` and the preimage as hex.
pub fn format_credential(scheme: &str, token: &str, preimage_hex: &str) -> String {
    format!("{scheme} {token}:{preimage_hex}")
}

/// A credential that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The scheme as sent (`L402` or `LSAT`, any case).
    pub scheme: String,
    /// The base64 tokens, in order (usually one).
    pub tokens: Vec<String>,
    /// The preimage's 32 bytes.
    pub preimage: [u8; 32],
}

/// Why an `Authorization` value is not a usable L402 credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Another scheme (Basic, Bearer, …): not an L402 credential at all.
    #[error("not an L402 credential (scheme '{0}')")]
    OtherScheme(String),
    /// An L402 credential that breaks the grammar.
    #[error("malformed L402 credential: {0}")]
    Malformed(String),
}

/// True for the characters of standard base64 (the grammar's `base64`).
fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='
}

/// Parses a credential by the grammar: one scheme, spaces, tokens, exactly one colon, and a
/// 32-byte preimage in hex (either case). Control characters anywhere are refused.
pub fn parse_credential(value: &str) -> Result<Credential, CredentialError> {
    let malformed = |m: &str| CredentialError::Malformed(m.to_string());
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !(scheme.eq_ignore_ascii_case("L402") || scheme.eq_ignore_ascii_case("LSAT")) {
        return Err(CredentialError::OtherScheme(scheme.to_string()));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(malformed("it contains a control character"));
    }
    let rest = rest.trim_start_matches(' ');
    let mut parts = rest.split(':');
    let (Some(tokens), Some(preimage), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(if rest.contains(':') {
            "more than one ':'"
        } else {
            "no ':' between the token and the preimage"
        }));
    };
    let tokens: Vec<String> = tokens.split(',').map(str::to_string).collect();
    if tokens
        .iter()
        .any(|t| t.is_empty() || !t.chars().all(is_base64_char))
    {
        return Err(malformed("a token is empty or not standard base64"));
    }
    if preimage.len() != 64 || !preimage.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(malformed("the preimage is not 64 hex digits"));
    }
    let bytes = hex::decode(preimage).map_err(|_| malformed("the preimage is not hex"))?;
    Ok(Credential {
        scheme: scheme.to_string(),
        tokens,
        preimage: bytes.try_into().expect("64 hex digits are 32 bytes"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRE: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn well_formed_credentials_parse() {
        let v = format_credential("L402", "AgEE+/==", PRE);
        let c = parse_credential(&v).unwrap();
        assert_eq!(c.tokens, vec!["AgEE+/=="]);
        assert_eq!(c.preimage[31], 1);
        let two = parse_credential(&format!("lsat a,b:{}", PRE.to_uppercase())).unwrap();
        assert_eq!((two.scheme.as_str(), two.tokens.len()), ("lsat", 2));
    }

    #[test]
    fn malformed_credentials_are_refused() {
        assert!(matches!(
            parse_credential("Bearer abc"),
            Err(CredentialError::OtherScheme(s)) if s == "Bearer"
        ));
        for (value, why) in [
            (format!("L402 tok\ten:{PRE}"), "control"),
            (format!("L402 tok:en:{PRE}"), "more than one"),
            ("L402 token".to_string(), "no ':'"),
            (format!("L402 tok-en_:{PRE}"), "base64"),
            (format!("L402 :{PRE}"), "empty"),
            ("L402 tok:abcd".to_string(), "64 hex"),
            (format!("L402 tok:{}", &PRE.replace('0', "g")), "64 hex"),
        ] {
            let e = parse_credential(&value).unwrap_err().to_string();
            assert!(e.contains(why), "{value:?}: {e}");
        }
    }
}
