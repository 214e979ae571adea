//! BOLT11 invoices: decoding (with the signature checked) and signing, on rust-lightning's
//! `lightning-invoice`.
//!
//! Strict decoding applies every BOLT11 rule (a payment secret, one description, a valid
//! signature). Lenient decoding also reads invoices written before payment secrets were
//! required, such as the L402 specification's example, and names what is missing.

use crate::protocol::{Deviation, Mode};
use bitcoin::hashes::{Hash, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescriptionRef, Currency, InvoiceBuilder, ParseOrSemanticError,
    PaymentSecret, SignedRawBolt11Invoice,
};
use std::str::FromStr;
use std::time::Duration;

/// The Bitcoin network an invoice is for, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LnNetwork {
    /// `lnbc`: real money.
    Bitcoin,
    /// `lntb`.
    Testnet,
    /// `lntbs`.
    Signet,
    /// `lnbcrt`.
    Regtest,
    /// `lnsb`.
    Simnet,
}

impl LnNetwork {
    /// True for every network but Bitcoin mainnet.
    pub fn is_test(self) -> bool {
        self != LnNetwork::Bitcoin
    }

    /// The name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            LnNetwork::Bitcoin => "bitcoin",
            LnNetwork::Testnet => "testnet",
            LnNetwork::Signet => "signet",
            LnNetwork::Regtest => "regtest",
            LnNetwork::Simnet => "simnet",
        }
    }

    fn from_currency(c: Currency) -> Self {
        match c {
            Currency::Bitcoin => LnNetwork::Bitcoin,
            Currency::BitcoinTestnet => LnNetwork::Testnet,
            Currency::Signet => LnNetwork::Signet,
            Currency::Regtest => LnNetwork::Regtest,
            Currency::Simnet => LnNetwork::Simnet,
        }
    }

    fn currency(self) -> Currency {
        match self {
            LnNetwork::Bitcoin => Currency::Bitcoin,
            LnNetwork::Testnet => Currency::BitcoinTestnet,
            LnNetwork::Signet => Currency::Signet,
            LnNetwork::Regtest => Currency::Regtest,
            LnNetwork::Simnet => Currency::Simnet,
        }
    }
}

/// What an invoice says, once decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invoice {
    /// Its network.
    pub network: LnNetwork,
    /// The amount asked for, in millisatoshis (`None` for an amountless invoice).
    pub amount_msat: Option<u64>,
    /// The payment hash, `sha256(preimage)`.
    #[serde(with = "alloy::primitives::hex")]
    pub payment_hash: [u8; 32],
    /// The payee's node key (compressed), recovered from the signature or given.
    #[serde(with = "alloy::primitives::hex")]
    pub payee: [u8; 33],
    /// Creation time, Unix seconds.
    pub timestamp: u64,
    /// Seconds after `timestamp` until it expires (3600 when unstated).
    pub expiry_secs: u64,
    /// The description, when given directly rather than as a hash.
    pub description: Option<String>,
    /// True when it carries a payment secret.
    pub has_payment_secret: bool,
    /// The BOLT11 rules it breaks (lenient decoding only).
    pub deviations: Vec<Deviation>,
}

impl Invoice {
    /// Unix time at which it expires.
    pub fn expires_at(&self) -> u64 {
        self.timestamp.saturating_add(self.expiry_secs)
    }
}

/// Why an invoice could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// Not BOLT11 at all (bech32, prefix, amount or field encoding).
    #[error("not a BOLT11 invoice: {0}")]
    Parse(String),
    /// The signature does not verify.
    #[error("the invoice's signature does not verify")]
    Signature,
    /// It breaks a BOLT11 rule (strict decoding).
    #[error("the invoice breaks a BOLT11 rule: {0}")]
    Semantic(String),
}

/// Decodes an invoice; `Strict` applies every BOLT11 rule.
pub fn decode_invoice(text: &str, mode: Mode) -> Result<Invoice, InvoiceError> {
    match Bolt11Invoice::from_str(text.trim()) {
        Ok(inv) => Ok(Invoice {
            network: LnNetwork::from_currency(inv.currency()),
            amount_msat: inv.amount_milli_satoshis(),
            payment_hash: inv.payment_hash().to_byte_array(),
            payee: inv.get_payee_pub_key().serialize(),
            timestamp: inv.duration_since_epoch().as_secs(),
            expiry_secs: inv.expiry_time().as_secs(),
            description: match inv.description() {
                Bolt11InvoiceDescriptionRef::Direct(d) => Some(d.to_string()),
                Bolt11InvoiceDescriptionRef::Hash(_) => None,
            },
            has_payment_secret: true,
            deviations: Vec::new(),
        }),
        Err(ParseOrSemanticError::ParseError(e)) => Err(InvoiceError::Parse(e.to_string())),
        Err(ParseOrSemanticError::SemanticError(e)) => {
            let semantic = e.to_string();
            if mode == Mode::Strict
                || matches!(e, lightning_invoice::Bolt11SemanticError::InvalidSignature)
            {
                return Err(if semantic.contains("signature") {
                    InvoiceError::Signature
                } else {
                    InvoiceError::Semantic(semantic)
                });
            }
            decode_raw(text.trim(), semantic)
        }
    }
}

/// Reads the fields of an invoice that parses but breaks a BOLT11 rule.
fn decode_raw(text: &str, semantic: String) -> Result<Invoice, InvoiceError> {
    let signed =
        SignedRawBolt11Invoice::from_str(text).map_err(|e| InvoiceError::Parse(e.to_string()))?;
    if !signed.check_signature() {
        return Err(InvoiceError::Signature);
    }
    let raw = signed.raw_invoice();
    let payment_hash = raw
        .payment_hash()
        .map(|h| h.0.to_byte_array())
        .ok_or_else(|| InvoiceError::Semantic("no payment hash".into()))?;
    let payee = signed
        .recover_payee_pub_key()
        .map_err(|_| InvoiceError::Signature)?
        .0
        .serialize();
    Ok(Invoice {
        network: LnNetwork::from_currency(raw.currency()),
        amount_msat: raw.amount_pico_btc().map(|p| p / 10),
        payment_hash,
        payee,
        timestamp: raw.data.timestamp.as_unix_timestamp(),
        expiry_secs: raw
            .expiry_time()
            .map_or(3600, |e| e.as_duration().as_secs()),
        description: raw.description().map(|d| d.to_string()),
        has_payment_secret: raw.payment_secret().is_some(),
        deviations: vec![Deviation::new("bolt11.semantic", "invoice", semantic)],
    })
}

/// What to put in an invoice the mock Lightning backend issues.
#[derive(Debug, Clone)]
pub struct InvoiceRequest {
    /// Network (its prefix).
    pub network: LnNetwork,
    /// Amount, in millisatoshis.
    pub amount_msat: u64,
    /// The payment hash.
    pub payment_hash: [u8; 32],
    /// The payment secret.
    pub payment_secret: [u8; 32],
    /// Description.
    pub description: String,
    /// Creation time.
    pub timestamp: Duration,
    /// Expiry after creation.
    pub expiry: Duration,
}

/// Builds and signs an invoice with `node_key`.
pub fn sign_invoice(node_key: &SecretKey, req: &InvoiceRequest) -> String {
    let secp = Secp256k1::new();
    InvoiceBuilder::new(req.network.currency())
        .description(req.description.clone())
        .payment_hash(sha256::Hash::from_byte_array(req.payment_hash))
        .payment_secret(PaymentSecret(req.payment_secret))
        .duration_since_epoch(req.timestamp)
        .min_final_cltv_expiry_delta(80)
        .expiry_time(req.expiry)
        .amount_milli_satoshis(req.amount_msat)
        .build_signed(|hash| secp.sign_ecdsa_recoverable(hash, node_key))
        .expect("every required invoice field is set")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;

    /// The L402 specification's example invoice: 150 sat, 2019, no payment secret.
    const SPEC_INVOICE: &str = "lnbc1500n1pw5kjhmpp5fu6xhthlt2vucmzkx6c7wtlh2r625r30cyjsfqhu8rsx4xpz5lwqdpa2fjkzep6yptksct5yp5hxgrrv96hx6twvusycn3qv9jx7ur5d9hkugr5dusx6cqzpgxqr23s79ruapxc4j5uskt4htly2salw4drq979d7rcela9wz02elhypmdzmzlnxuknpgfyfm86pntt8vvkvffma5qc9n50h4mvqhngadqy3ngqjcym5a";

    fn request() -> InvoiceRequest {
        InvoiceRequest {
            network: LnNetwork::Regtest,
            amount_msat: 100_000,
            payment_hash: [0x11; 32],
            payment_secret: [0x22; 32],
            description: "paycheck test".into(),
            timestamp: Duration::from_secs(1_800_000_000),
            expiry: Duration::from_secs(600),
        }
    }

    #[test]
    fn signed_invoices_decode_strictly_to_what_was_asked() {
        let key = SecretKey::from_slice(&[0x42; 32]).unwrap();
        let text = sign_invoice(&key, &request());
        assert!(text.starts_with("lnbcrt1u1"), "{text}");
        let inv = decode_invoice(&text, Mode::Strict).unwrap();
        assert_eq!(inv.network, LnNetwork::Regtest);
        assert_eq!(inv.amount_msat, Some(100_000));
        assert_eq!(inv.payment_hash, [0x11; 32]);
        assert_eq!(inv.expires_at(), 1_800_000_600);
        assert_eq!(inv.description.as_deref(), Some("paycheck test"));
        let pk = key.public_key(&Secp256k1::new()).serialize();
        assert_eq!(inv.payee, pk);
    }

    #[test]
    fn the_spec_example_reads_only_leniently() {
        let strict = decode_invoice(SPEC_INVOICE, Mode::Strict).unwrap_err();
        assert!(matches!(strict, InvoiceError::Semantic(_)), "{strict}");
        let inv = decode_invoice(SPEC_INVOICE, Mode::Lenient).unwrap();
        assert_eq!(inv.network, LnNetwork::Bitcoin);
        assert_eq!(inv.amount_msat, Some(150_000));
        assert_eq!(
            hex::encode(inv.payment_hash),
            "4f346baeff5a99cc6c5636b1e72ff750f4aa0e2fc1250482fc38e06a9822a7dc"
        );
        assert_eq!((inv.timestamp, inv.expiry_secs), (1565215483, 10800));
        assert!(!inv.has_payment_secret);
        assert_eq!(inv.deviations[0].rule, "bolt11.semantic");
    }

    #[test]
    fn a_damaged_invoice_is_refused() {
        let key = SecretKey::from_slice(&[0x42; 32]).unwrap();
        let text = sign_invoice(&key, &request());
        // One character changed: the bech32 checksum catches it.
        let mut chars: Vec<char> = text.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let damaged: String = chars.into_iter().collect();
        assert!(matches!(
            decode_invoice(&damaged, Mode::Lenient),
            Err(InvoiceError::Parse(_))
        ));
        assert!(decode_invoice("lnbc", Mode::Lenient).is_err());
    }
}
