//! Changes to a paid L402 credential, the proptest strategies that generate them, and how
//! they are applied. Whether the result must be refused is decided on the final header
//! (see [`super::judge`]), not from the edits: two flips of one bit are no change.

use crate::protocol::codec::encode_base64;
use crate::protocol::l402::Macaroon;
use alloy::primitives::hex;
use base64::Engine as _;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// A caveat a holder appends to a paid macaroon (attenuation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Narrowing {
    /// `services=paycheck-other-service:0`: the token no longer covers the route.
    OtherService,
    /// `<service>_valid_until=<a minute ago>`.
    Expired,
    /// `<service>_valid_until=<in two hours>`: still valid now.
    LaterExpiry,
    /// `paycheck_note=1`: a condition the server does not know, and skips.
    Unknown,
}

/// One change to a paid credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "kebab-case")]
pub enum CredEdit {
    /// Another scheme word.
    Scheme {
        /// The word.
        to: String,
    },
    /// More spaces between the scheme and the credential.
    Spaces {
        /// How many.
        n: u8,
    },
    /// The preimage in upper case.
    PreimageUpper,
    /// One bit of the preimage flipped.
    PreimageBit {
        /// Which byte.
        byte: u8,
        /// Which bit.
        bit: u8,
    },
    /// The preimage cut to this many hex digits.
    PreimageCut {
        /// Digits kept.
        len: u8,
    },
    /// Two more hex digits.
    PreimageLonger,
    /// One digit replaced by `g`.
    PreimageNonHex {
        /// Which digit.
        at: u8,
    },
    /// A tab inserted in the token or the preimage.
    Tab {
        /// In the token (else in the preimage).
        in_token: bool,
    },
    /// An extra colon in the token or before the preimage.
    ExtraColon {
        /// In the token (else doubled before the preimage).
        in_token: bool,
    },
    /// One bit of the macaroon's identifier flipped.
    IdentifierBit {
        /// Which byte.
        byte: u8,
        /// Which bit.
        bit: u8,
    },
    /// One bit of a caveat flipped.
    CaveatBit {
        /// Which caveat.
        caveat: u8,
        /// Which byte.
        byte: u8,
        /// Which bit.
        bit: u8,
    },
    /// One bit of the signature flipped.
    SignatureBit {
        /// Which byte.
        byte: u8,
        /// Which bit.
        bit: u8,
    },
    /// A caveat removed.
    DropCaveat {
        /// Which caveat.
        caveat: u8,
    },
    /// A caveat appended, the chain extended as a holder may.
    Attenuate {
        /// Which caveat.
        caveat: Narrowing,
    },
    /// The macaroon's location changed (the signature does not cover it).
    Location,
    /// The token in URL-safe base64 without padding.
    TokenUrlSafe,
    /// The token without its padding.
    TokenUnpadded,
    /// The token cut to this many characters.
    TokenCut {
        /// Characters kept.
        keep: u16,
    },
    /// The token twice, comma-separated.
    TokenTwice,
    /// The token replaced by base64 of garbage.
    TokenGarbage,
}

fn bit() -> impl Strategy<Value = u8> {
    0u8..8
}

/// One edit.
pub fn edit() -> impl Strategy<Value = CredEdit> {
    prop_oneof![
        prop::sample::select(vec!["l402", "LSAT", "lsat", "Bearer", "L402x", "L 402"])
            .prop_map(|to| CredEdit::Scheme { to: to.into() }),
        (2u8..=4).prop_map(|n| CredEdit::Spaces { n }),
        Just(CredEdit::PreimageUpper),
        (0u8..32, bit()).prop_map(|(byte, bit)| CredEdit::PreimageBit { byte, bit }),
        (0u8..64).prop_map(|len| CredEdit::PreimageCut { len }),
        Just(CredEdit::PreimageLonger),
        (0u8..64).prop_map(|at| CredEdit::PreimageNonHex { at }),
        any::<bool>().prop_map(|in_token| CredEdit::Tab { in_token }),
        any::<bool>().prop_map(|in_token| CredEdit::ExtraColon { in_token }),
        (0u8..66, bit()).prop_map(|(byte, bit)| CredEdit::IdentifierBit { byte, bit }),
        (0u8..4, 0u8..32, bit()).prop_map(|(caveat, byte, bit)| CredEdit::CaveatBit {
            caveat,
            byte,
            bit
        }),
        (0u8..32, bit()).prop_map(|(byte, bit)| CredEdit::SignatureBit { byte, bit }),
        (0u8..4).prop_map(|caveat| CredEdit::DropCaveat { caveat }),
        prop::sample::select(vec![
            Narrowing::OtherService,
            Narrowing::Expired,
            Narrowing::LaterExpiry,
            Narrowing::Unknown
        ])
        .prop_map(|caveat| CredEdit::Attenuate { caveat }),
        Just(CredEdit::Location),
        Just(CredEdit::TokenUrlSafe),
        Just(CredEdit::TokenUnpadded),
        (0u16..200).prop_map(|keep| CredEdit::TokenCut { keep }),
        Just(CredEdit::TokenTwice),
        Just(CredEdit::TokenGarbage),
    ]
}

/// A case: up to three edits (none is the control: the paid credential as it is).
pub fn case() -> impl Strategy<Value = Vec<CredEdit>> {
    prop::collection::vec(edit(), 0..=3)
}

/// A paid credential, in parts.
#[derive(Debug, Clone)]
pub struct PaidParts {
    /// The token as the server sent it.
    pub token: String,
    /// The token's macaroon, when it is one.
    pub macaroon: Option<Macaroon>,
    /// The preimage.
    pub preimage: [u8; 32],
}

impl PaidParts {
    /// The services the token names (`services=` caveats).
    pub fn services(&self) -> Vec<String> {
        self.macaroon
            .iter()
            .flat_map(Macaroon::conditions)
            .filter(|(k, _)| k == "services")
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.split(':').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

fn flip(bytes: &mut [u8], byte: u8, bit: u8) {
    if bytes.is_empty() {
        return;
    }
    let i = usize::from(byte) % bytes.len();
    bytes[i] ^= 1 << (bit % 8);
}

fn insert_mid(text: &str, what: &str) -> String {
    let mid = text.len() / 2;
    format!("{}{what}{}", &text[..mid], &text[mid..])
}

/// The `Authorization` value for `paid` with `edits` applied.
pub fn apply(paid: &PaidParts, edits: &[CredEdit]) -> String {
    let now = crate::payer::unix_now();
    let service = paid
        .services()
        .into_iter()
        .next()
        .unwrap_or_else(|| "service".into());
    // The macaroon's structure first.
    let mut macaroon = paid.macaroon.clone();
    if let Some(m) = macaroon.as_mut() {
        for e in edits {
            match e {
                CredEdit::IdentifierBit { byte, bit } => flip(&mut m.identifier, *byte, *bit),
                CredEdit::CaveatBit { caveat, byte, bit } if !m.caveats.is_empty() => {
                    let n = m.caveats.len();
                    flip(&mut m.caveats[usize::from(*caveat) % n].id, *byte, *bit);
                }
                CredEdit::SignatureBit { byte, bit } => flip(&mut m.signature, *byte, *bit),
                CredEdit::DropCaveat { caveat } if !m.caveats.is_empty() => {
                    let n = m.caveats.len();
                    m.caveats.remove(usize::from(*caveat) % n);
                }
                CredEdit::Attenuate { caveat } => m.add_first_party_caveat(&match caveat {
                    Narrowing::OtherService => "services=paycheck-other-service:0".into(),
                    Narrowing::Expired => format!("{service}_valid_until={}", now - 60),
                    Narrowing::LaterExpiry => format!("{service}_valid_until={}", now + 7200),
                    Narrowing::Unknown => "paycheck_note=1".into(),
                }),
                CredEdit::Location => m.location = "paycheck-elsewhere".into(),
                _ => {}
            }
        }
    }
    let mut token = match &macaroon {
        Some(m) if Some(m) != paid.macaroon.as_ref() => m.to_base64(),
        _ => paid.token.clone(),
    };
    let mut preimage = hex::encode(paid.preimage);
    let mut scheme = "L402".to_string();
    let mut spaces = 1;
    let mut separator = ":".to_string();
    for e in edits {
        match e {
            CredEdit::Scheme { to } => scheme = to.clone(),
            CredEdit::Spaces { n } => spaces = usize::from(*n),
            CredEdit::PreimageUpper => preimage = preimage.to_uppercase(),
            CredEdit::PreimageBit { byte, bit } => {
                if let Ok(mut b) = hex::decode(&preimage) {
                    flip(&mut b, *byte, *bit);
                    preimage = hex::encode(b);
                }
            }
            CredEdit::PreimageCut { len } => {
                preimage = preimage.chars().take(usize::from(*len)).collect();
            }
            CredEdit::PreimageLonger => preimage.push_str("00"),
            CredEdit::PreimageNonHex { at } if !preimage.is_empty() => {
                let i = usize::from(*at) % preimage.len();
                preimage.replace_range(i..=i, "g");
            }
            CredEdit::Tab { in_token: true } => token = insert_mid(&token, "\t"),
            CredEdit::Tab { in_token: false } => preimage = insert_mid(&preimage, "\t"),
            CredEdit::ExtraColon { in_token: true } => token = insert_mid(&token, ":"),
            CredEdit::ExtraColon { in_token: false } => separator = "::".into(),
            CredEdit::TokenUrlSafe => {
                if let Ok(b) = crate::protocol::l402::base64_any(&token) {
                    token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
                }
            }
            CredEdit::TokenUnpadded => token = token.trim_end_matches('=').to_string(),
            CredEdit::TokenCut { keep } => {
                token = token.chars().take(usize::from(*keep)).collect();
            }
            CredEdit::TokenTwice => token = format!("{token},{token}"),
            CredEdit::TokenGarbage => token = encode_base64(b"paycheck garbage token"),
            _ => {}
        }
    }
    format!("{scheme}{}{token}{separator}{preimage}", " ".repeat(spaces))
}
