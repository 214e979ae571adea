//! The kinds of wrong payment the payer makes on request, each a single, named change to a
//! valid payment, so that a check can tell which rule a server failed to enforce.

use crate::protocol::eip3009::TransferWithAuthorization;
use crate::protocol::network::{chain_id, v1_name};
use crate::protocol::v1::PaymentRequirementsV1;
use crate::protocol::v2::PaymentRequirements;
use alloy::primitives::{Address, B256, U256, address};
use std::fmt;
use std::str::FromStr;

/// A token contract that is not the offered asset (used by [`WrongPayment::WrongAsset`]).
pub const OTHER_ASSET: Address = address!("00000000000000000000000000000000000baddd");
/// A recipient that is not the offered `payTo` (used by [`WrongPayment::WrongPayTo`]).
pub const OTHER_PAY_TO: Address = address!("0000000000000000000000000000000000c0ffee");

/// One way to make a payment wrong. A cheaper route's payment needs no variant: pay the
/// cheaper offer and send it to the dearer route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrongPayment {
    /// Signed by another key, while `from` still names the payer.
    WrongSigner,
    /// One byte of the signature flipped.
    BadSignature,
    /// `value` is one atomic unit below the amount.
    Underpaid,
    /// `value` is one atomic unit above the amount.
    Overpaid,
    /// `to` is not the offer's `payTo`.
    WrongPayTo,
    /// Signed for another test network, with `accepted.network` (v1: `network`) changed.
    WrongNetwork,
    /// Signed for another token, with `accepted.asset` changed.
    WrongAsset,
    /// `validBefore` is in the past.
    Expired,
    /// `validAfter` is an hour in the future.
    NotYetValid,
    /// Uses the given nonce instead of a fresh random one.
    ReusedNonce(B256),
    /// `validAfter` and `validBefore` at these offsets from now, in seconds (signed).
    Window {
        /// Offset of `validAfter`.
        after: i64,
        /// Offset of `validBefore`.
        before: i64,
    },
}

impl WrongPayment {
    /// Every variant that needs no argument, with its flag name.
    pub const SIMPLE: [WrongPayment; 9] = [
        WrongPayment::WrongSigner,
        WrongPayment::BadSignature,
        WrongPayment::Underpaid,
        WrongPayment::Overpaid,
        WrongPayment::WrongPayTo,
        WrongPayment::WrongNetwork,
        WrongPayment::WrongAsset,
        WrongPayment::Expired,
        WrongPayment::NotYetValid,
    ];

    /// The kebab-case name used in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            WrongPayment::WrongSigner => "wrong-signer",
            WrongPayment::BadSignature => "bad-signature",
            WrongPayment::Underpaid => "underpaid",
            WrongPayment::Overpaid => "overpaid",
            WrongPayment::WrongPayTo => "wrong-pay-to",
            WrongPayment::WrongNetwork => "wrong-network",
            WrongPayment::WrongAsset => "wrong-asset",
            WrongPayment::Expired => "expired",
            WrongPayment::NotYetValid => "not-yet-valid",
            WrongPayment::ReusedNonce(_) => "reused-nonce",
            WrongPayment::Window { .. } => "window",
        }
    }

    /// What is wrong with it, as a phrase: "a payment {phrase}".
    pub fn describe(&self) -> &'static str {
        match self {
            WrongPayment::WrongSigner => "signed by another key",
            WrongPayment::BadSignature => "with a corrupted signature",
            WrongPayment::Underpaid => "one unit short of the price",
            WrongPayment::Overpaid => "one unit over the price",
            WrongPayment::WrongPayTo => "to another recipient",
            WrongPayment::WrongNetwork => "on another network",
            WrongPayment::WrongAsset => "in another token",
            WrongPayment::Expired => "that has expired",
            WrongPayment::NotYetValid => "that is not valid yet",
            WrongPayment::ReusedNonce(_) => "that reuses a nonce",
            WrongPayment::Window { .. } => "with a chosen validity window",
        }
    }

    pub(super) fn apply_to_authorization(&self, auth: &mut TransferWithAuthorization, now: u64) {
        match self {
            WrongPayment::Underpaid => auth.value = auth.value.saturating_sub(U256::from(1)),
            WrongPayment::Overpaid => auth.value = auth.value.saturating_add(U256::from(1)),
            WrongPayment::WrongPayTo => auth.to = OTHER_PAY_TO,
            WrongPayment::Expired => {
                auth.validAfter = U256::from(now.saturating_sub(3600));
                auth.validBefore = U256::from(now.saturating_sub(60));
            }
            WrongPayment::NotYetValid => {
                auth.validAfter = U256::from(now + 3600);
                auth.validBefore = U256::from(now + 7200);
            }
            WrongPayment::ReusedNonce(nonce) => auth.nonce = *nonce,
            WrongPayment::Window { after, before } => {
                auth.validAfter = U256::from(now.saturating_add_signed(*after));
                auth.validBefore = U256::from(now.saturating_add_signed(*before));
            }
            _ => {}
        }
    }

    pub(super) fn apply_to_signature(&self, signature: &mut String) {
        if matches!(self, WrongPayment::BadSignature) {
            // Flip the lowest bit of the last byte of `s` (hex digit 129 after "0x").
            let mut bytes: Vec<u8> = signature.bytes().collect();
            let i = 2 + 127;
            let digit = (bytes[i] as char).to_digit(16).expect("signatures are hex") ^ 1;
            bytes[i] = std::char::from_digit(digit, 16).expect("a hex digit") as u8;
            *signature = String::from_utf8(bytes).expect("hex stays ASCII");
        }
    }

    pub(super) fn apply_to_accepted_v2(&self, accepted: &mut PaymentRequirements) {
        match self {
            WrongPayment::WrongNetwork => {
                let other = other_testnet(chain_id(&accepted.network));
                accepted.network = format!("eip155:{other}");
            }
            WrongPayment::WrongAsset => accepted.asset = OTHER_ASSET.to_checksum(None),
            _ => {}
        }
    }

    pub(super) fn apply_to_offer_v1(&self, offer: &mut PaymentRequirementsV1) {
        match self {
            WrongPayment::WrongNetwork => {
                let other = other_testnet(chain_id(&offer.network));
                offer.network = v1_name(other).expect("known testnet").to_string();
            }
            WrongPayment::WrongAsset => offer.asset = OTHER_ASSET.to_checksum(None),
            _ => {}
        }
    }
}

/// A known test network other than `current`: Avalanche Fuji, or Base Sepolia from Fuji.
fn other_testnet(current: Option<u64>) -> u64 {
    if current == Some(43113) { 84532 } else { 43113 }
}

impl fmt::Display for WrongPayment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WrongPayment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WrongPayment::SIMPLE
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = WrongPayment::SIMPLE.iter().map(|w| w.name()).collect();
                format!(
                    "unknown wrong payment '{s}': expected one of {}",
                    names.join(", ")
                )
            })
    }
}
