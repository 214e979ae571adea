//! The money path: the checks that prove a server takes money correctly. A run passes only
//! when each of them that was selected was graded (DESIGN.md "Outcomes": a run that proved
//! nothing fails closed).
//!
//! For every suite these are a valid payment served and settled once, a wrong payment
//! refused, and (where the profile refuses reuse) a used payment refused. `--only` and
//! `--exclude` scope them away on purpose; [`Scope::SignalOnly`] declares a server that is
//! only tested for its 402 signal.

use crate::protocol::{L402Profile, Suite};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The money-path check names (ids without the suite prefix) of a suite.
pub fn money_path(suite: Suite) -> &'static [&'static str] {
    match suite {
        Suite::X402(_) => &[
            "payment/served",
            "payment/verify-then-settle",
            "rejection/bad-signature",
            "replay/sequential",
        ],
        Suite::L402(L402Profile::Spec) => &["credential/paid-accepted", "credential/bad-preimage"],
        Suite::L402(L402Profile::SingleUse) => &[
            "credential/paid-accepted",
            "credential/bad-preimage",
            "replay/sequential",
        ],
    }
}

/// What a run sets out to prove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The whole catalogue: exit 0 needs the money path graded, and every MUST graded.
    #[default]
    Full,
    /// Only the 402 signal: a server paycheck cannot pay (a mainnet-only offer, a real
    /// facilitator); checks that could not pay are not held against it.
    SignalOnly,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Full => "full",
            Scope::SignalOnly => "signal-only",
        })
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Scope::Full),
            "signal-only" => Ok(Scope::SignalOnly),
            other => Err(format!(
                "unknown profile '{other}': expected full or signal-only"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_money_path_check_is_in_its_catalogue() {
        for suite in Suite::ALL {
            let ids: Vec<String> = super::super::catalogue(suite)
                .into_iter()
                .map(|c| c.id)
                .collect();
            for name in money_path(suite) {
                let id = format!("{}/{name}", suite.id());
                assert!(ids.contains(&id), "{id} is not a check of {suite}");
            }
        }
    }

    #[test]
    fn scopes_round_trip() {
        for s in [Scope::Full, Scope::SignalOnly] {
            assert_eq!(s.to_string().parse::<Scope>().unwrap(), s);
        }
        assert!("all".parse::<Scope>().unwrap_err().contains("signal-only"));
    }
}
