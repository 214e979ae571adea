//! Whether a generated credential must be refused, judged on the header value as sent:
//! it must unless it is the paid credential in another legitimate spelling (the scheme's
//! case, LSAT, more spaces, the preimage's case, the token's base64 flavour or repeated)
//! or with caveats appended that still hold for this service now.

use super::edits::PaidParts;
use crate::protocol::l402::{Macaroon, base64_any};
use alloy::primitives::hex;

/// Why a credential must be refused, or `None` when a server may accept or refuse it.
pub fn must_refuse(paid: &PaidParts, header: &str, now: u64) -> Option<String> {
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !(scheme.eq_ignore_ascii_case("L402") || scheme.eq_ignore_ascii_case("LSAT")) {
        return Some(format!("the scheme '{scheme}' is not L402 or LSAT"));
    }
    if header.chars().any(char::is_control) {
        return Some("it contains a control character".into());
    }
    let rest = rest.trim_start_matches(' ');
    let mut parts = rest.split(':');
    let (Some(tokens), Some(preimage), None) = (parts.next(), parts.next(), parts.next()) else {
        return Some("it does not have exactly one ':'".into());
    };
    let preimage_ok = preimage.len() == 64
        && hex::decode(preimage).is_ok_and(|b| b.as_slice() == paid.preimage.as_slice());
    if !preimage_ok {
        return Some("the preimage is not the paid one".into());
    }
    let services = paid.services();
    for token in tokens.split(',') {
        if let Some(why) = token_refusal(paid, token, &services, now) {
            return Some(why);
        }
    }
    None
}

/// Why one token must be refused, or `None` when it is the paid token (or a valid
/// narrowing of it that still holds).
fn token_refusal(paid: &PaidParts, token: &str, services: &[String], now: u64) -> Option<String> {
    let Ok(bytes) = base64_any(token) else {
        return Some("a token is not base64".into());
    };
    let Some(original) = &paid.macaroon else {
        let same = base64_any(&paid.token).is_ok_and(|b| b == bytes);
        return (!same).then(|| "the token is not the paid one".into());
    };
    let Some(added) = Macaroon::from_bytes(&bytes)
        .ok()
        .and_then(|m| m.attenuation_of(original))
    else {
        return Some("the token is not the paid macaroon, nor a valid narrowing of it".into());
    };
    for caveat in added {
        let Some((key, value)) = caveat.condition() else {
            continue;
        };
        if key == "services" {
            let named: Vec<&str> = value
                .split(',')
                .map(|s| s.split(':').next().unwrap_or(""))
                .collect();
            if !services.iter().any(|s| named.contains(&s.as_str())) {
                return Some(format!(
                    "an added caveat excludes the service: {key}={value}"
                ));
            }
        } else if let Some(svc) = key.strip_suffix("_valid_until")
            && services.iter().any(|s| s == svc)
            && value.parse::<u64>().is_ok_and(|until| until <= now)
        {
            return Some(format!("an added caveat has expired: {key}={value}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::edits::{CredEdit, Narrowing, apply};
    use super::*;
    use crate::protocol::l402::Identifier;

    fn paid() -> PaidParts {
        let mut m = Macaroon::mint(&[9; 32], Identifier::new([1; 32], [2; 32]).encode(), "x");
        m.add_first_party_caveat("services=premium:0");
        m.add_first_party_caveat("premium_valid_until=4000000000");
        PaidParts {
            token: m.to_base64(),
            macaroon: Some(m),
            preimage: [3; 32],
        }
    }

    fn judged(edits: &[CredEdit]) -> Option<String> {
        let p = paid();
        must_refuse(&p, &apply(&p, edits), crate::payer::unix_now())
    }

    #[test]
    fn legitimate_spellings_may_be_accepted() {
        for edits in [
            vec![],
            vec![CredEdit::Scheme { to: "lsat".into() }],
            vec![CredEdit::Spaces { n: 3 }, CredEdit::PreimageUpper],
            vec![CredEdit::TokenUrlSafe, CredEdit::TokenTwice],
            vec![CredEdit::Location],
            vec![CredEdit::Attenuate {
                caveat: Narrowing::LaterExpiry,
            }],
            vec![CredEdit::Attenuate {
                caveat: Narrowing::Unknown,
            }],
            // The same bit flipped twice is no change.
            vec![
                CredEdit::SignatureBit { byte: 3, bit: 1 },
                CredEdit::SignatureBit { byte: 3, bit: 1 },
            ],
        ] {
            assert_eq!(judged(&edits), None, "{edits:?}");
        }
    }

    #[test]
    fn every_other_change_must_be_refused() {
        for edits in [
            vec![CredEdit::Scheme {
                to: "Bearer".into(),
            }],
            vec![CredEdit::PreimageBit { byte: 0, bit: 0 }],
            vec![CredEdit::PreimageCut { len: 63 }],
            vec![CredEdit::PreimageLonger],
            vec![CredEdit::PreimageNonHex { at: 5 }],
            vec![CredEdit::Tab { in_token: true }],
            vec![CredEdit::ExtraColon { in_token: false }],
            vec![CredEdit::IdentifierBit { byte: 10, bit: 2 }],
            vec![CredEdit::CaveatBit {
                caveat: 1,
                byte: 0,
                bit: 0,
            }],
            vec![CredEdit::SignatureBit { byte: 0, bit: 7 }],
            vec![CredEdit::DropCaveat { caveat: 0 }],
            vec![CredEdit::Attenuate {
                caveat: Narrowing::OtherService,
            }],
            vec![CredEdit::Attenuate {
                caveat: Narrowing::Expired,
            }],
            vec![CredEdit::TokenCut { keep: 20 }],
            vec![CredEdit::TokenGarbage],
        ] {
            assert!(judged(&edits).is_some(), "{edits:?}");
        }
    }
}
