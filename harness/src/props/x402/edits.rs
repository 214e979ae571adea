//! One change to a valid payment, and the proptest strategies that generate them.
//!
//! A case is a list of edits. Re-signed edits change what is signed (the amount, the
//! window, the domain) and are applied before signing; the others change the signed
//! payload's JSON or its encoding afterwards. Each edit says whether it makes the payment
//! one that must be refused, or one a server may accept or refuse.

use crate::protocol::Dialect;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A field of the payment payload, as a JSON pointer in the dialect's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// `payload.authorization.value`
    Value,
    /// `payload.authorization.from`
    From,
    /// `payload.authorization.to`
    To,
    /// `payload.authorization.validAfter`
    ValidAfter,
    /// `payload.authorization.validBefore`
    ValidBefore,
    /// `payload.authorization.nonce`
    Nonce,
    /// `payload.signature`
    Signature,
    /// The version field.
    Version,
    /// `accepted.amount` (v2; v1 has no copy of the amount: the authorization's value).
    Amount,
    /// `accepted.network` (v2) or `network` (v1).
    Network,
    /// `accepted.asset` (v2) or `scheme` (v1).
    Asset,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 11] = [
        Field::Value,
        Field::From,
        Field::To,
        Field::ValidAfter,
        Field::ValidBefore,
        Field::Nonce,
        Field::Signature,
        Field::Version,
        Field::Amount,
        Field::Network,
        Field::Asset,
    ];

    /// The JSON pointer of the field in `dialect`'s payload.
    pub fn pointer(self, dialect: Dialect) -> String {
        let v1 = dialect.is_v1();
        match self {
            Field::Value => "/payload/authorization/value".into(),
            Field::From => "/payload/authorization/from".into(),
            Field::To => "/payload/authorization/to".into(),
            Field::ValidAfter => "/payload/authorization/validAfter".into(),
            Field::ValidBefore => "/payload/authorization/validBefore".into(),
            Field::Nonce => "/payload/authorization/nonce".into(),
            Field::Signature => "/payload/signature".into(),
            Field::Version => format!("/{}", dialect.version_key()),
            Field::Amount if v1 => "/payload/authorization/value".into(),
            Field::Amount => "/accepted/amount".into(),
            Field::Network if v1 => "/network".into(),
            Field::Network => "/accepted/network".into(),
            Field::Asset if v1 => "/scheme".into(),
            Field::Asset => "/accepted/asset".into(),
        }
    }
}

/// What is signed differently (applied before signing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "resign")]
pub enum Resign {
    /// The amount off by `delta` units; `accepted` follows it when `follow` (v2).
    Amount {
        /// Units added to the required amount.
        delta: i8,
        /// Whether `accepted.amount` (v1: nothing) is edited to match.
        follow: bool,
    },
    /// validAfter and validBefore at these offsets from now.
    Window {
        /// Offset of validAfter, seconds.
        after: i64,
        /// Offset of validBefore, seconds.
        before: i64,
    },
    /// Signed under another EIP-712 domain name.
    DomainName,
    /// Signed under another EIP-712 domain version.
    DomainVersion,
    /// Signed by another key, `from` still naming the payer.
    Signer,
    /// Signed for another chain id (Avalanche Fuji) than the offer's network.
    DomainChain,
    /// Signed with another verifying contract than the offer's asset.
    DomainContract,
}

/// One change to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "edit")]
pub enum Edit {
    /// Sign something else.
    Resign(Resign),
    /// Replace a field's value.
    Set {
        /// Which field.
        field: Field,
        /// The new value.
        value: Value,
    },
    /// Remove a field.
    Remove {
        /// Which field.
        field: Field,
    },
    /// Add an unknown top-level field (a server may ignore it).
    Extra {
        /// Its name.
        name: String,
    },
    /// Wrap the payload `depth` arrays deep.
    Nest {
        /// Nesting depth.
        depth: u16,
    },
    /// Flip one bit of the signature.
    FlipBit {
        /// Byte index in the 65-byte signature.
        byte: u8,
        /// Bit index.
        bit: u8,
    },
    /// Replace `s` by `n - s` and flip `v`: the same signer, but a high-s signature that
    /// token contracts refuse (EIP-2).
    HighS,
    /// Encode with the URL-safe alphabet and no padding (a server may accept it).
    UrlSafe,
    /// Pretty-print the JSON (a server may accept it).
    Spaces,
    /// Cut the header to this per-mille of its length.
    Truncate {
        /// Kept length in per-mille (0-999).
        permille: u16,
    },
    /// Append characters outside the base64 alphabet.
    Garbage,
    /// Repeat the authorization's `value` key with another amount before the real one
    /// (parsers differ on which copy wins; a server may accept or refuse).
    DuplicateKey,
    /// Send the payment header twice.
    DuplicateHeader,
}

impl Edit {
    /// True when a payment with this edit must be refused; false when a server may accept
    /// or refuse it (encoding flavours, unknown fields, duplicates, a window that is valid
    /// or within two seconds of a bound). A `Set` or `Remove` counts only if the field's
    /// final value differs from the signed one (see the case builder).
    pub fn must_refuse(&self) -> bool {
        match self {
            Edit::Resign(Resign::Amount { delta, .. }) => *delta != 0,
            Edit::Resign(Resign::Window { after, before }) => *after > 2 || *before < 4,
            Edit::Resign(_) => true,
            Edit::Set { field, value } => !same_meaning(*field, value),
            Edit::Extra { .. }
            | Edit::UrlSafe
            | Edit::Spaces
            | Edit::DuplicateKey
            | Edit::DuplicateHeader => false,
            _ => true,
        }
    }
}

/// A value that differs in form only: an address in lower case.
fn same_meaning(field: Field, value: &Value) -> bool {
    matches!(field, Field::From | Field::To) && value.as_str() == Some("<lowercase>")
}

/// Values to put in a field (`<lowercase>` means the current value lower-cased).
fn values(field: Field) -> BoxedStrategy<Value> {
    let amounts = prop_oneof![
        Just(json!("0")),
        Just(json!("-1")),
        Just(json!("1.5")),
        Just(json!("1e4")),
        Just(json!("010000")),
        Just(json!(" 10000")),
        Just(json!(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        )),
        Just(json!(
            "115792089237316195423570985008687907853269984665640564039457584007913129639936"
        )),
        Just(json!(10000)),
        Just(json!(null)),
        "[0-9]{1,3}".prop_map(Value::String),
    ];
    let addresses = prop_oneof![
        Just(json!("<lowercase>")),
        Just(json!("0x0000000000000000000000000000000000000000")),
        Just(json!("0x1234")),
        Just(json!("0x00000000000000000000000000000000000000000000")),
        Just(json!("0xZZ9693Bc6afc0C5328bA36FaF03C514EF312287C")),
        Just(json!(42)),
    ];
    let hex = prop_oneof![
        Just(json!("0x")),
        Just(json!("0x1234")),
        Just(json!("not hex")),
        "0x[0-9a-f]{66}".prop_map(Value::String),
        "[ -~]{0,80}".prop_map(Value::String),
        Just(json!("\u{0000}\u{0007}")),
        Just(json!("x".repeat(12_000))),
    ];
    match field {
        Field::Value | Field::ValidAfter | Field::ValidBefore | Field::Amount => amounts.boxed(),
        Field::From | Field::To | Field::Asset => addresses.boxed(),
        Field::Nonce | Field::Signature => hex.boxed(),
        Field::Version => prop_oneof![
            Just(json!(1)),
            Just(json!(3)),
            Just(json!("2")),
            Just(json!(null)),
            Just(json!(2.5))
        ]
        .boxed(),
        Field::Network => prop_oneof![
            Just(json!("eip155:8453")),
            Just(json!("eip155:43113")),
            Just(json!("base-sepolia")),
            Just(json!("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")),
            Just(json!("")),
        ]
        .boxed(),
    }
}

/// Everything but a re-signing, weighted.
fn unsigned_edit() -> impl Strategy<Value = Edit> {
    let field = proptest::sample::select(Field::ALL.to_vec());
    prop_oneof![
        3 => field.clone().prop_flat_map(|f| values(f).prop_map(move |v| Edit::Set { field: f, value: v })),
        1 => field.prop_map(|f| Edit::Remove { field: f }),
        1 => "[a-z]{1,12}".prop_map(|name| Edit::Extra { name }),
        1 => (2u16..300).prop_map(|depth| Edit::Nest { depth }),
        2 => (0u8..65, 0u8..8).prop_map(|(byte, bit)| Edit::FlipBit { byte, bit }),
        1 => Just(Edit::HighS),
        1 => Just(Edit::UrlSafe),
        1 => Just(Edit::Spaces),
        1 => (0u16..1000).prop_map(|permille| Edit::Truncate { permille }),
        1 => Just(Edit::Garbage),
        1 => Just(Edit::DuplicateKey),
        1 => Just(Edit::DuplicateHeader),
    ]
}

/// One re-signing.
fn resign() -> impl Strategy<Value = Resign> {
    prop_oneof![
        2 => (-2i8..=2, any::<bool>()).prop_map(|(delta, follow)| Resign::Amount { delta, follow }),
        2 => (-40i64..=40, -40i64..=80).prop_map(|(after, before)| Resign::Window { after, before }),
        1 => Just(Resign::DomainName),
        1 => Just(Resign::DomainVersion),
        1 => Just(Resign::Signer),
        1 => Just(Resign::DomainChain),
        1 => Just(Resign::DomainContract),
    ]
}

/// A case: at most one re-signing, then up to three other edits, no edit twice (none at
/// all is the valid control payment).
pub fn case() -> impl Strategy<Value = Vec<Edit>> {
    (
        proptest::option::weighted(0.4, resign()),
        proptest::collection::vec(unsigned_edit(), 0..=3),
    )
        .prop_map(|(resign, rest)| {
            let mut edits: Vec<Edit> = resign.into_iter().map(Edit::Resign).collect();
            for e in rest {
                if !edits.contains(&e) {
                    edits.push(e);
                }
            }
            edits
        })
}
