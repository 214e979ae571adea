//! The facilitator's verification rules for exact/EVM (EIP-3009) payments, in the order the
//! reference facilitator applies them (protocols.md §4.1): version, scheme, network, the
//! payment matching the requirements, signature, recipient, time window with the 6 s
//! buffer, exact amount, nonce unused, balance.

use super::ledger::{Ledger, LedgerRefusal};
use crate::protocol::eip3009::{TokenDomain, parse_authorization, parse_signature, signing_hash};
use crate::protocol::exact::ExactEvmPayload;
use crate::protocol::facilitator::FacilitatorRequest;
use crate::protocol::network::{chain_id, to_caip2};
use crate::protocol::reasons::*;
use crate::protocol::v1::{PaymentPayloadV1, PaymentRequirementsV1};
use crate::protocol::v2::{PaymentPayload, PaymentRequirements};
use crate::protocol::{Deviation, Dialect, Message, Mode, decode_value};
use alloy::primitives::{Address, B256, U256};
use serde_json::Value;

/// Seconds before `validBefore` within which an authorization is already refused, so that
/// it cannot expire while the transaction waits for a block (reference value: 6).
pub const VALID_BEFORE_BUFFER_SECS: u64 = 6;

/// A payment read from a facilitator request, in its dialect's shapes.
// One short-lived value per request: boxing would cost more than the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Payment {
    /// x402 v2 or t402.
    V2 {
        /// The client's payment.
        payload: PaymentPayload,
        /// The requirement the server matched.
        requirements: PaymentRequirements,
    },
    /// x402 v1.
    V1 {
        /// The client's payment.
        payload: PaymentPayloadV1,
        /// The requirement the server matched.
        requirements: PaymentRequirementsV1,
    },
}

/// A payment that passed every rule: what settling it will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// The signer, `authorization.from`.
    pub payer: Address,
    /// The recipient.
    pub to: Address,
    /// The authorization nonce.
    pub nonce: B256,
    /// The amount.
    pub value: U256,
}

/// A refused payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The reason code (see [`crate::protocol::reasons`]).
    pub reason: &'static str,
    /// What exactly was wrong.
    pub message: String,
    /// The claimed payer, when the payload could be read that far.
    pub payer: Option<Address>,
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        reason,
        message: message.into(),
        payer: None,
    }
}

/// Which networks the facilitator settles on.
#[derive(Debug, Clone)]
pub struct Networks {
    /// CAIP-2 ids of the supported EVM networks.
    pub caip2: Vec<String>,
}

impl Networks {
    fn supports(&self, network: &str) -> bool {
        to_caip2(network).is_some_and(|n| self.caip2.contains(&n))
    }
}

/// Reads the payload and requirements of a request in its dialect, leniently as the
/// reference facilitators do (a `mimeType: null`, an unknown field): what does not fit the
/// specification's schema comes back as deviations for the journal, and only what cannot
/// be read at all (a wrong version, a field of the wrong type) is refused.
pub fn read_payment(
    dialect: Dialect,
    request: &FacilitatorRequest,
) -> Result<(Payment, Vec<Deviation>), Refused> {
    if request.x402_version != dialect.version() {
        return Err(refuse(
            INVALID_X402_VERSION,
            format!(
                "request version {} is not {}",
                request.x402_version,
                dialect.version()
            ),
        ));
    }
    let payload_version = request
        .payment_payload
        .get(dialect.version_key())
        .and_then(Value::as_u64);
    if payload_version != Some(dialect.version()) {
        return Err(refuse(
            INVALID_X402_VERSION,
            format!(
                "paymentPayload.{} is {payload_version:?}, expected {}",
                dialect.version_key(),
                dialect.version()
            ),
        ));
    }
    Ok(if dialect.is_v1() {
        let (requirements, payload, deviations) = read_pair(dialect, request)?;
        (
            Payment::V1 {
                requirements,
                payload,
            },
            deviations,
        )
    } else {
        let (requirements, payload, deviations) = read_pair(dialect, request)?;
        (
            Payment::V2 {
                requirements,
                payload,
            },
            deviations,
        )
    })
}

/// The requirements and payload of a request, read leniently, with their deviations.
fn read_pair<R: Message, P: Message>(
    dialect: Dialect,
    request: &FacilitatorRequest,
) -> Result<(R, P, Vec<Deviation>), Refused> {
    let (requirements, mut deviations) = read_member(
        dialect,
        &request.payment_requirements,
        INVALID_PAYMENT_REQUIREMENTS,
        "paymentRequirements",
    )?;
    let (payload, more) = read_member(
        dialect,
        &request.payment_payload,
        INVALID_PAYLOAD,
        "paymentPayload",
    )?;
    deviations.extend(more);
    Ok((requirements, payload, deviations))
}

/// One member of a request, read leniently; a message that cannot be read at all is
/// refused with `reason`, and its deviations' paths start with the member's name.
fn read_member<T: Message>(
    dialect: Dialect,
    json: &Value,
    reason: &'static str,
    member: &str,
) -> Result<(T, Vec<Deviation>), Refused> {
    let decoded = decode_value::<T>(dialect, Mode::Lenient, json.clone())
        .map_err(|e| refuse(reason, e.to_string()))?;
    let deviations = decoded
        .deviations
        .into_iter()
        .map(|mut d| {
            d.path = format!("/{member}{}", d.path);
            d
        })
        .collect();
    Ok((decoded.value, deviations))
}

/// The offer fields the exact/EVM rules compare against, from either dialect.
struct Offer<'a> {
    scheme: &'a str,
    network: &'a str,
    amount: &'a str,
    asset: &'a str,
    pay_to: &'a str,
    name_version: Option<(&'a str, &'a str)>,
    value_reason: &'static str,
    /// v2: how `accepted` differs from the requirements, if it does.
    mismatch: Option<String>,
}

/// Applies every rule to a payment; `now` is Unix seconds.
pub fn verify(
    payment: &Payment,
    networks: &Networks,
    ledger: &Ledger,
    now: u64,
) -> Result<Approved, Refused> {
    let (offer, paid_scheme, paid_network, payload) = match payment {
        Payment::V2 {
            payload,
            requirements: r,
        } => {
            let mismatch = (payload.accepted != *r).then(|| {
                format!(
                    "accepted differs from the requirements{}",
                    first_difference(&payload.accepted, r)
                )
            });
            let offer = Offer {
                scheme: &r.scheme,
                network: &r.network,
                amount: &r.amount,
                asset: &r.asset,
                pay_to: &r.pay_to,
                name_version: r.eip712_name_version(),
                value_reason: VALUE_MISMATCH,
                mismatch,
            };
            (
                offer,
                &payload.accepted.scheme,
                &payload.accepted.network,
                &payload.payload,
            )
        }
        Payment::V1 {
            payload,
            requirements: r,
        } => {
            let offer = Offer {
                scheme: &r.scheme,
                network: &r.network,
                amount: &r.max_amount_required,
                asset: &r.asset,
                pay_to: &r.pay_to,
                name_version: r.eip712_name_version(),
                value_reason: VALUE_V1,
                mismatch: None,
            };
            (offer, &payload.scheme, &payload.network, &payload.payload)
        }
    };
    verify_exact(
        &offer,
        paid_scheme,
        paid_network,
        payload,
        networks,
        ledger,
        now,
    )
}

fn first_difference(a: &PaymentRequirements, b: &PaymentRequirements) -> String {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return String::new();
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .find(|k| a.get(*k) != b.get(*k))
        .map(|k| format!(" at {k}"))
        .unwrap_or_default()
}

fn verify_exact(
    offer: &Offer<'_>,
    paid_scheme: &str,
    paid_network: &str,
    payload: &Value,
    networks: &Networks,
    ledger: &Ledger,
    now: u64,
) -> Result<Approved, Refused> {
    if offer.scheme != "exact" {
        return Err(refuse(
            UNSUPPORTED_SCHEME,
            format!("scheme '{}' is not supported", offer.scheme),
        ));
    }
    if paid_scheme != offer.scheme {
        return Err(refuse(
            INVALID_SCHEME,
            format!("paid with '{paid_scheme}', required '{}'", offer.scheme),
        ));
    }
    if !networks.supports(offer.network) {
        return Err(refuse(
            INVALID_NETWORK,
            format!("network '{}' is not supported", offer.network),
        ));
    }
    if paid_network != offer.network {
        return Err(refuse(
            INVALID_NETWORK,
            format!("paid on '{paid_network}', required '{}'", offer.network),
        ));
    }
    if let Some(m) = &offer.mismatch {
        return Err(refuse(INVALID_PAYMENT_REQUIREMENTS, m.clone()));
    }
    let (name, version) = offer.name_version.ok_or_else(|| {
        refuse(
            INVALID_PAYMENT_REQUIREMENTS,
            "extra.name and extra.version (the EIP-712 domain) are missing",
        )
    })?;
    let reqs =
        |field: &str, e: String| refuse(INVALID_PAYMENT_REQUIREMENTS, format!("{field}: {e}"));
    let asset: Address = offer
        .asset
        .parse()
        .map_err(|e: alloy::hex::FromHexError| reqs("asset", e.to_string()))?;
    let pay_to: Address = offer
        .pay_to
        .parse()
        .map_err(|e: alloy::hex::FromHexError| reqs("payTo", e.to_string()))?;
    let amount = crate::protocol::amount::parse_atomic(offer.amount)
        .map_err(|e| reqs("amount", e.to_string()))?;

    let exact: ExactEvmPayload = serde_json::from_value(payload.clone())
        .map_err(|e| refuse(INVALID_PAYLOAD, format!("not an EIP-3009 payload: {e}")))?;
    let auth = parse_authorization(&exact.authorization).map_err(|e| refuse(INVALID_PAYLOAD, e))?;
    let with_payer = |mut r: Refused| {
        r.payer = Some(auth.from);
        r
    };
    let signature =
        parse_signature(&exact.signature).map_err(|e| with_payer(refuse(INVALID_SIGNATURE, e)))?;
    let domain = TokenDomain {
        name: name.to_string(),
        version: version.to_string(),
        chain_id: chain_id(offer.network).expect("supported networks are EVM"),
        verifying_contract: asset,
    };
    let signer = signature
        .recover_address_from_prehash(&signing_hash(&domain, &auth))
        .map_err(|e| with_payer(refuse(INVALID_SIGNATURE, e.to_string())))?;
    if signer != auth.from {
        return Err(with_payer(refuse(
            INVALID_SIGNATURE,
            format!(
                "signed by {signer}, not by authorization.from {}",
                auth.from
            ),
        )));
    }
    if auth.to != pay_to {
        return Err(with_payer(refuse(
            RECIPIENT_MISMATCH,
            format!("pays {} instead of {pay_to}", auth.to),
        )));
    }
    if auth.validBefore < U256::from(now + VALID_BEFORE_BUFFER_SECS) {
        return Err(with_payer(refuse(
            VALID_BEFORE,
            format!(
                "validBefore {} is not at least {VALID_BEFORE_BUFFER_SECS} s after now ({now})",
                auth.validBefore
            ),
        )));
    }
    if auth.validAfter > U256::from(now) {
        return Err(with_payer(refuse(
            VALID_AFTER,
            format!("validAfter {} is after now ({now})", auth.validAfter),
        )));
    }
    if auth.value != amount {
        return Err(with_payer(refuse(
            offer.value_reason,
            format!("value {} is not exactly the required {amount}", auth.value),
        )));
    }
    ledger
        .check(auth.from, auth.nonce, auth.value)
        .map_err(|r| with_payer(ledger_refusal(r)))?;
    Ok(Approved {
        payer: auth.from,
        to: auth.to,
        nonce: auth.nonce,
        value: auth.value,
    })
}

/// The reason code for a ledger refusal.
pub fn ledger_refusal(refusal: LedgerRefusal) -> Refused {
    match refusal {
        LedgerRefusal::NonceUsed => refuse(
            INVALID_TRANSACTION_STATE,
            "the authorization's nonce was already used",
        ),
        LedgerRefusal::InsufficientFunds => {
            refuse(INSUFFICIENT_FUNDS, "the payer's balance is below the value")
        }
    }
}

#[cfg(test)]
mod tests;
