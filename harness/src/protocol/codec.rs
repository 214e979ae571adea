//! Header codecs: base64 of compact JSON, as every x402 implementation writes it.
//!
//! The specification's examples, and every reference SDK, use the standard RFC 4648
//! alphabet with `=` padding around compact JSON. [`decode_base64`] accepts the other
//! flavours real servers send (URL-safe alphabet, missing padding, line breaks) and names
//! each one as a [`Deviation`], so a strict reader can refuse them and a lenient one can
//! report them.

use super::deviation::Deviation;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes bytes as padded standard base64, the form the specifications use.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Why a header could not be read as base64 at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not base64: {0}")]
pub struct Base64Error(pub String);

/// Decodes base64 in any flavour, reporting each way it differs from padded standard base64.
pub fn decode_base64(text: &str) -> Result<(Vec<u8>, Vec<Deviation>), Base64Error> {
    let mut deviations = Vec::new();
    let mut normalised = String::with_capacity(text.len() + 3);
    let mut saw_space = false;
    let mut saw_url_safe = false;
    for c in text.chars() {
        match c {
            c if c.is_ascii_whitespace() => saw_space = true,
            '-' => {
                saw_url_safe = true;
                normalised.push('+');
            }
            '_' => {
                saw_url_safe = true;
                normalised.push('/');
            }
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' | '=' => normalised.push(c),
            other => {
                return Err(Base64Error(format!(
                    "character {other:?} is in neither the standard nor the URL-safe alphabet"
                )));
            }
        }
    }
    if saw_space {
        deviations.push(Deviation::new(
            "base64.whitespace",
            "header",
            "white space inside the base64 value",
        ));
    }
    if saw_url_safe {
        deviations.push(Deviation::new(
            "base64.url-safe",
            "header",
            "URL-safe alphabet ('-', '_'); the specification uses the standard alphabet ('+', '/')",
        ));
    }
    if normalised.is_empty() {
        return Err(Base64Error("empty value".into()));
    }
    if !normalised.len().is_multiple_of(4) {
        if normalised.contains('=') {
            return Err(Base64Error(format!(
                "length {} with padding is not a multiple of 4",
                normalised.len()
            )));
        }
        deviations.push(Deviation::new(
            "base64.unpadded",
            "header",
            "missing '=' padding; the specification pads to a multiple of 4",
        ));
        while !normalised.len().is_multiple_of(4) {
            normalised.push('=');
        }
    }
    let bytes = STANDARD
        .decode(normalised.as_bytes())
        .map_err(|e| Base64Error(e.to_string()))?;
    Ok((bytes, deviations))
}

/// True for the deviation rules of the encoding (base64 flavour, JSON white space), as
/// opposed to what the message says.
pub fn is_encoding(rule: &str) -> bool {
    rule.starts_with("base64.") || rule == "json.not-compact"
}

/// Reports white space between JSON tokens (not around the document): the specification's
/// examples are compact JSON.
pub fn json_whitespace(bytes: &[u8]) -> Option<Deviation> {
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes.trim_ascii() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b.is_ascii_whitespace() {
            return Some(Deviation::new(
                "json.not-compact",
                "",
                "white space between JSON tokens; reference implementations send compact JSON",
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_padded_base64_has_no_deviation() {
        let (bytes, dev) = decode_base64(&encode_base64(b"{\"a\":1}")).unwrap();
        assert_eq!(bytes, b"{\"a\":1}");
        assert!(dev.is_empty());
    }

    #[test]
    fn each_flavour_is_named() {
        // "??>" encodes to "Pz8+" (standard) and "Pz8-" (URL-safe).
        let (bytes, dev) = decode_base64("Pz8-").unwrap();
        assert_eq!(bytes, b"??>");
        assert_eq!(dev[0].rule, "base64.url-safe");
        let (_, dev) = decode_base64("e30").unwrap();
        assert_eq!(dev[0].rule, "base64.unpadded");
        let (_, dev) = decode_base64("e3\n0=").unwrap();
        assert_eq!(dev[0].rule, "base64.whitespace");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_base64("not*base64").is_err());
        assert!(decode_base64("").is_err());
        assert!(decode_base64("abcde=").is_err());
    }

    #[test]
    fn whitespace_inside_strings_is_fine() {
        assert!(json_whitespace(br#"{"a":"b c"}"#).is_none());
        assert!(json_whitespace(br#"{"a":"b\" c"}"#).is_none());
        assert!(json_whitespace(br#"{"a": 1}"#).is_some());
        assert!(json_whitespace(b"{\"a\":1}\n").is_none());
    }
}
