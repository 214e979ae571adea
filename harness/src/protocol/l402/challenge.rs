//! The L402 challenge: `WWW-Authenticate: L402 macaroon="…", invoice="…"` (L402 master,
//! bLIP-26, aperture) or `L402 version="0", token="…", invoice="…"` (the token draft), with
//! legacy `LSAT` beside or instead of `L402`. A response may carry several challenges, in
//! one header (comma-separated, RFC 7235) or in several.

use crate::protocol::Deviation;
use std::fmt;

/// One L402 or LSAT challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L402Challenge {
    /// The scheme as sent: `L402` or `LSAT` (any case).
    pub scheme: String,
    /// The `version` parameter, when sent (the token draft's form).
    pub version: Option<String>,
    /// The token as sent (base64 of a macaroon for most servers).
    pub token: String,
    /// Which parameter carried the token: `macaroon` or `token`.
    pub token_param: &'static str,
    /// The BOLT11 invoice.
    pub invoice: String,
}

/// Why no L402 challenge could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeParseError {
    /// No `WWW-Authenticate` header.
    #[error("no WWW-Authenticate header")]
    NoHeader,
    /// A header value is not an RFC 7235 challenge list.
    #[error("WWW-Authenticate '{value}' is not a valid challenge list: {error}")]
    Grammar {
        /// The header value.
        value: String,
        /// Where it breaks.
        error: String,
    },
    /// Challenges, but none for L402 or LSAT.
    #[error("WWW-Authenticate has no L402 or LSAT challenge (schemes: {0})")]
    NoL402(String),
    /// The L402 challenge lacks a parameter.
    #[error("the {scheme} challenge has no {param} parameter")]
    Missing {
        /// The scheme.
        scheme: String,
        /// The missing parameter.
        param: &'static str,
    },
}

/// The L402 challenges of a response, and how they deviate from the current text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenges {
    /// Every L402 and LSAT challenge, in order.
    pub all: Vec<L402Challenge>,
    /// Deviations: only LSAT, a version other than 0, and so on.
    pub deviations: Vec<Deviation>,
}

impl Challenges {
    /// The challenge a client answers: the first `L402` one, else the first `LSAT` one.
    pub fn preferred(&self) -> &L402Challenge {
        self.all
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("L402"))
            .unwrap_or(&self.all[0])
    }
}

fn is_l402_scheme(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("L402") || scheme.eq_ignore_ascii_case("LSAT")
}

/// Reads the L402 and LSAT challenges from the values of every `WWW-Authenticate` header.
pub fn read_challenges(values: &[&str]) -> Result<Challenges, ChallengeParseError> {
    if values.is_empty() {
        return Err(ChallengeParseError::NoHeader);
    }
    let mut all = Vec::new();
    let mut schemes = Vec::new();
    for value in values {
        let parsed =
            http_auth::parse_challenges(value).map_err(|e| ChallengeParseError::Grammar {
                value: (*value).to_string(),
                error: e.to_string(),
            })?;
        for c in parsed {
            schemes.push(c.scheme.to_string());
            if !is_l402_scheme(c.scheme) {
                continue;
            }
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_unescaped())
            };
            let (token, token_param) = match (param("macaroon"), param("token")) {
                (_, Some(t)) => (t, "token"),
                (Some(m), None) => (m, "macaroon"),
                (None, None) => {
                    return Err(ChallengeParseError::Missing {
                        scheme: c.scheme.to_string(),
                        param: "macaroon (or token)",
                    });
                }
            };
            let invoice = param("invoice").ok_or_else(|| ChallengeParseError::Missing {
                scheme: c.scheme.to_string(),
                param: "invoice",
            })?;
            all.push(L402Challenge {
                scheme: c.scheme.to_string(),
                version: param("version"),
                token,
                token_param,
                invoice,
            });
        }
    }
    if all.is_empty() {
        return Err(ChallengeParseError::NoL402(schemes.join(", ")));
    }
    let mut deviations = Vec::new();
    if !all.iter().any(|c| c.scheme.eq_ignore_ascii_case("L402")) {
        deviations.push(Deviation::new(
            "l402.lsat-only",
            "WWW-Authenticate",
            "only a legacy LSAT challenge; L402 servers send an L402 one (and may add LSAT)",
        ));
    }
    for c in &all {
        if let Some(v) = c.version.as_deref().filter(|v| *v != "0") {
            deviations.push(Deviation::new(
                "l402.version",
                "WWW-Authenticate",
                format!("version=\"{v}\"; only version 0 is defined"),
            ));
        }
        if c.token_param == "token" && c.version.is_none() {
            deviations.push(Deviation::new(
                "l402.token-without-version",
                "WWW-Authenticate",
                "token= without version=\"0\"; the token draft sends both",
            ));
        }
    }
    Ok(Challenges { all, deviations })
}

impl fmt::Display for L402Challenge {
    /// The header value: `SCHEME version="0", token="…", invoice="…"` or `SCHEME
    /// macaroon="…", invoice="…"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.scheme)?;
        if let Some(v) = &self.version {
            write!(f, "version=\"{v}\", ")?;
        }
        write!(
            f,
            "{}=\"{}\", invoice=\"{}\"",
            self.token_param, self.token, self.invoice
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The L402 specification's example (token draft form); the invoice is cut short here.
    const SPEC_EXAMPLE: &str = r#"L402 version="0", token="AGIAJEemVQUTEyNCR0exk7ek90Cg==", invoice="lnbc1500n1pw5kjhmpp5fu6xhthlt2vucmzkx6c7wtlh2r625r30cyjsfqhu8rsx4xpz5lwq""#;

    #[test]
    fn both_parameter_forms_read() {
        let c = read_challenges(&[SPEC_EXAMPLE]).unwrap();
        let p = c.preferred();
        assert_eq!(
            (p.scheme.as_str(), p.version.as_deref(), p.token_param),
            ("L402", Some("0"), "token")
        );
        assert_eq!(p.token, "AGIAJEemVQUTEyNCR0exk7ek90Cg==");
        assert!(p.invoice.starts_with("lnbc1500n1"));
        assert!(c.deviations.is_empty());
        let m = read_challenges(&[r#"L402 macaroon="AGIA", invoice="lntb1""#]).unwrap();
        assert_eq!(m.preferred().token_param, "macaroon");
        assert_eq!(
            m.preferred().to_string(),
            r#"L402 macaroon="AGIA", invoice="lntb1""#
        );
    }

    #[test]
    fn several_challenges_in_one_or_several_headers() {
        // Aperture: LSAT first, then L402, in two header fields.
        let two = read_challenges(&[
            r#"LSAT macaroon="A", invoice="lntb1""#,
            r#"L402 macaroon="A", invoice="lntb1""#,
        ])
        .unwrap();
        assert_eq!(two.all.len(), 2);
        assert_eq!(two.preferred().scheme, "L402");
        // One header, with another scheme first.
        let one =
            read_challenges(&[r#"Basic realm="x", l402 macaroon="B", invoice="lntb2""#]).unwrap();
        assert_eq!(one.preferred().token, "B");
        // Only LSAT: read, with a deviation.
        let lsat = read_challenges(&[r#"LSAT macaroon="C", invoice="lntb3""#]).unwrap();
        assert_eq!(lsat.deviations[0].rule, "l402.lsat-only");
    }

    #[test]
    fn broken_challenges_say_why() {
        assert_eq!(read_challenges(&[]), Err(ChallengeParseError::NoHeader));
        assert!(matches!(
            read_challenges(&[r#"L402 macaroon="A" invoice="x""#]),
            Err(ChallengeParseError::Grammar { .. })
        ));
        assert!(matches!(
            read_challenges(&[r#"Basic realm="x""#]),
            Err(ChallengeParseError::NoL402(s)) if s == "Basic"
        ));
        assert!(matches!(
            read_challenges(&[r#"L402 macaroon="A""#]),
            Err(ChallengeParseError::Missing {
                param: "invoice",
                ..
            })
        ));
    }
}
