//! Conformance suites: what a server is tested for. An x402-family suite is one wire
//! [`Dialect`]; an L402 suite is L402 graded by an [`L402Profile`].

use super::Dialect;
use std::fmt;
use std::str::FromStr;

/// How an L402 server treats a paid credential after its first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum L402Profile {
    /// The specification: a credential is reusable until it expires or is revoked.
    #[serde(rename = "l402")]
    Spec,
    /// The server declares credentials single-use (as l402-kit does): a used credential,
    /// however re-encoded, is refused.
    #[serde(rename = "l402-single-use")]
    SingleUse,
}

/// A conformance suite: the protocol a server speaks, and for L402 the profile it is
/// graded by. Suite ids prefix check ids: `x402-v2/replay/concurrent`,
/// `l402/credential/bad-preimage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// x402 v1, x402 v2 or t402.
    X402(Dialect),
    /// L402.
    L402(L402Profile),
}

impl Suite {
    /// Every suite, in the order a bare `paycheck run` runs them.
    pub const ALL: [Suite; 5] = [
        Suite::X402(Dialect::X402V2),
        Suite::X402(Dialect::X402V1),
        Suite::X402(Dialect::T402),
        Suite::L402(L402Profile::Spec),
        Suite::L402(L402Profile::SingleUse),
    ];

    /// The id used in check ids, file names and flags.
    pub fn id(self) -> &'static str {
        match self {
            Suite::X402(d) => d.id(),
            Suite::L402(L402Profile::Spec) => "l402",
            Suite::L402(L402Profile::SingleUse) => "l402-single-use",
        }
    }

    /// The x402-family dialect, or `None` for L402.
    pub fn dialect(self) -> Option<Dialect> {
        match self {
            Suite::X402(d) => Some(d),
            Suite::L402(_) => None,
        }
    }

    /// The L402 profile, or `None` for x402-family suites.
    pub fn l402_profile(self) -> Option<L402Profile> {
        match self {
            Suite::L402(p) => Some(p),
            Suite::X402(_) => None,
        }
    }

    /// The request header that carries a payment or credential.
    pub fn payment_header(self) -> &'static str {
        match self {
            Suite::X402(d) => d.payment_header(),
            Suite::L402(_) => "Authorization",
        }
    }
}

impl From<Dialect> for Suite {
    fn from(d: Dialect) -> Self {
        Suite::X402(d)
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Suite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "t402-v1" {
            // Not a suite of its own (the t402 suite detects it), but a server to serve.
            return Ok(Suite::X402(Dialect::T402V1));
        }
        Suite::ALL.into_iter().find(|x| x.id() == s).ok_or_else(|| {
            let ids: Vec<&str> = Suite::ALL.iter().map(|x| x.id()).collect();
            format!("unknown suite '{s}': expected one of {}", ids.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids_round_trip_and_name_the_choices() {
        for s in Suite::ALL {
            assert_eq!(s.id().parse::<Suite>().unwrap(), s);
        }
        let err = "l402x".parse::<Suite>().unwrap_err();
        assert!(
            err.contains("l402-single-use") && err.contains("x402-v2"),
            "{err}"
        );
        assert_eq!(Suite::from(Dialect::T402).dialect(), Some(Dialect::T402));
        assert_eq!(
            Suite::L402(L402Profile::Spec).payment_header(),
            "Authorization"
        );
    }
}
