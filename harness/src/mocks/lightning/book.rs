//! The invoice book: every invoice the mock Lightning backend issued, with its preimage,
//! so that it can "pay" them. Bounded: past its capacity the oldest invoices are forgotten
//! (a long load run creates one per unpaid request).

use crate::protocol::l402::invoice::{InvoiceRequest, LnNetwork, sign_invoice};
use crate::protocol::l402::sha256;
use alloy::primitives::B256;
use bitcoin::secp256k1::SecretKey;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    /// Issued, not paid.
    Pending,
    /// Paid: its preimage is released.
    Paid,
}

/// One issued invoice.
#[derive(Debug, Clone)]
pub struct InvoiceRecord {
    /// The preimage (secret until paid).
    pub preimage: [u8; 32],
    /// The BOLT11 text.
    pub bolt11: String,
    /// Amount, millisatoshis.
    pub amount_msat: u64,
    /// Description.
    pub memo: String,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Seconds until it expires.
    pub expiry: u64,
    /// Paid or not.
    pub status: InvoiceStatus,
}

impl InvoiceRecord {
    /// True when it can no longer be paid at `now`.
    pub fn expired_at(&self, now: u64) -> bool {
        now >= self.created.saturating_add(self.expiry)
    }
}

/// Why the mock will not pay an invoice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayRefusal {
    /// It is not one the mock issued (or it was forgotten).
    #[error("the mock Lightning backend pays only invoices it issued; this one is unknown to it")]
    Unknown,
    /// Its expiry passed.
    #[error("the invoice has expired")]
    Expired,
    /// It was paid already.
    #[error("the invoice is already paid")]
    AlreadyPaid,
    /// Not BOLT11.
    #[error("not a BOLT11 invoice: {0}")]
    Malformed(String),
}

/// A newly issued invoice.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its payment hash.
    pub payment_hash: [u8; 32],
    /// Its BOLT11 text.
    pub bolt11: String,
}

#[derive(Debug, Default)]
struct Inner {
    invoices: HashMap<[u8; 32], InvoiceRecord>,
    order: VecDeque<[u8; 32]>,
}

/// The invoices, keyed by payment hash.
#[derive(Debug)]
pub struct InvoiceBook {
    inner: Mutex<Inner>,
    node_key: SecretKey,
    network: LnNetwork,
    capacity: usize,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl InvoiceBook {
    /// A book signing with `node_key` for `network`, remembering at most `capacity` invoices.
    pub fn new(node_key: SecretKey, network: LnNetwork, capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            node_key,
            network,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a signed invoice for `amount_msat` with a fresh preimage.
    pub fn issue(&self, amount_msat: u64, memo: &str, expiry: Duration) -> Issued {
        let preimage: [u8; 32] = B256::random().0;
        let payment_hash = sha256(&preimage);
        let now = unix_now();
        let bolt11 = sign_invoice(
            &self.node_key,
            &InvoiceRequest {
                network: self.network,
                amount_msat,
                payment_hash,
                payment_secret: B256::random().0,
                description: memo.to_string(),
                timestamp: Duration::from_secs(now.as_secs()),
                expiry,
            },
        );
        let record = InvoiceRecord {
            preimage,
            bolt11: bolt11.clone(),
            amount_msat,
            memo: memo.to_string(),
            created: now.as_secs(),
            expiry: expiry.as_secs(),
            status: InvoiceStatus::Pending,
        };
        let mut inner = self.lock();
        if inner.order.len() >= self.capacity
            && let Some(old) = inner.order.pop_front()
        {
            inner.invoices.remove(&old);
        }
        inner.order.push_back(payment_hash);
        inner.invoices.insert(payment_hash, record);
        Issued {
            payment_hash,
            bolt11,
        }
    }

    /// Pays an invoice the book issued and returns its preimage.
    pub fn pay(&self, bolt11: &str) -> Result<(InvoiceRecord, [u8; 32]), PayRefusal> {
        let decoded = crate::protocol::l402::decode_invoice(bolt11, crate::protocol::Mode::Lenient)
            .map_err(|e| PayRefusal::Malformed(e.to_string()))?;
        let mut inner = self.lock();
        let record = inner
            .invoices
            .get_mut(&decoded.payment_hash)
            .filter(|r| r.bolt11 == bolt11.trim())
            .ok_or(PayRefusal::Unknown)?;
        if record.status == InvoiceStatus::Paid {
            return Err(PayRefusal::AlreadyPaid);
        }
        if record.expired_at(unix_now().as_secs()) {
            return Err(PayRefusal::Expired);
        }
        record.status = InvoiceStatus::Paid;
        Ok((record.clone(), decoded.payment_hash))
    }

    /// The invoice with this payment hash, if the book knows it.
    pub fn lookup(&self, payment_hash: &[u8; 32]) -> Option<InvoiceRecord> {
        self.lock().invoices.get(payment_hash).cloned()
    }

    /// How many invoices it remembers.
    pub fn len(&self) -> usize {
        self.lock().invoices.len()
    }

    /// True when it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every invoice.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.invoices.clear();
        inner.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(capacity: usize) -> InvoiceBook {
        InvoiceBook::new(
            SecretKey::from_slice(&[3; 32]).unwrap(),
            LnNetwork::Regtest,
            capacity,
        )
    }

    #[test]
    fn an_issued_invoice_pays_once_and_releases_its_preimage() {
        let b = book(10);
        let i = b.issue(21_000, "test", Duration::from_secs(60));
        let (record, hash) = b.pay(&i.bolt11).unwrap();
        assert_eq!(hash, i.payment_hash);
        assert_eq!(sha256(&record.preimage), i.payment_hash);
        assert_eq!(b.lookup(&hash).unwrap().status, InvoiceStatus::Paid);
        assert_eq!(b.pay(&i.bolt11).unwrap_err(), PayRefusal::AlreadyPaid);
    }

    #[test]
    fn unknown_expired_and_forgotten_invoices_are_not_paid() {
        let b = book(1);
        let other = book(1).issue(1000, "elsewhere", Duration::from_secs(60));
        assert_eq!(b.pay(&other.bolt11).unwrap_err(), PayRefusal::Unknown);
        let gone = b.issue(1000, "expired", Duration::ZERO);
        assert_eq!(b.pay(&gone.bolt11).unwrap_err(), PayRefusal::Expired);
        // Capacity 1: a second invoice pushes the first out.
        let second = b.issue(1000, "second", Duration::from_secs(60));
        assert_eq!(b.len(), 1);
        assert_eq!(b.pay(&gone.bolt11).unwrap_err(), PayRefusal::Unknown);
        assert!(b.pay(&second.bolt11).is_ok());
        assert!(matches!(b.pay("lnbc1"), Err(PayRefusal::Malformed(_))));
    }
}
