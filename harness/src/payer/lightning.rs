//! Pays L402 challenges: decodes the invoice, checks its network and amount as a careful
//! client does (the L402 specification: a client checks the amount is reasonable), and pays
//! through paycheck's mock Lightning backend, the only wallet paycheck has. It never pays
//! a real invoice: the mock pays only invoices it issued itself.

use super::{PayError, Payer};
use crate::mocks::MockLightning;
use crate::protocol::Mode;
use crate::protocol::l402::{L402Challenge, decode_invoice, format_credential};
use alloy::primitives::hex;

/// The most an invoice may ask for before paycheck refuses to pay it: 0.01 BTC.
pub const MAX_INVOICE_MSAT: u64 = 1_000_000_000;

/// A paid L402 challenge: what to send, and what identifies the payment.
#[derive(Debug, Clone)]
pub struct L402Payment {
    /// The `Authorization` value, `SCHEME token:preimage`.
    pub credential: String,
    /// The token as the server sent it.
    pub token: String,
    /// The preimage, lower-case hex.
    pub preimage_hex: String,
    /// The invoice's payment hash, lower-case hex.
    pub payment_hash: String,
}

impl Payer {
    /// Pays `challenge`'s invoice through `lightning` and builds the credential with the
    /// `L402` scheme.
    pub fn pay_l402(
        &self,
        lightning: &MockLightning,
        challenge: &L402Challenge,
    ) -> Result<L402Payment, PayError> {
        let invoice = decode_invoice(&challenge.invoice, Mode::Lenient)
            .map_err(|e| PayError::Unpayable(format!("the invoice: {e}")))?;
        if !invoice.network.is_test() && !self.policy.mainnet_allowed {
            return Err(PayError::MainnetRefused("bitcoin (an lnbc invoice)".into()));
        }
        match invoice.amount_msat {
            None => {
                return Err(PayError::Unpayable(
                    "the invoice names no amount; paycheck pays only invoices that state their price".into(),
                ));
            }
            Some(m) if m > MAX_INVOICE_MSAT => {
                return Err(PayError::Unpayable(format!(
                    "the invoice asks for {} sat, above paycheck's ceiling of {} sat",
                    m / 1000,
                    MAX_INVOICE_MSAT / 1000
                )));
            }
            Some(_) => {}
        }
        let preimage = lightning
            .pay(&challenge.invoice)
            .map_err(|e| PayError::Unpayable(format!("the mock Lightning backend: {e}")))?;
        let preimage_hex = hex::encode(preimage);
        // The token goes back exactly as the server wrote it.
        let token = challenge.token.clone();
        Ok(L402Payment {
            credential: format_credential("L402", &token, &preimage_hex),
            token,
            preimage_hex,
            payment_hash: hex::encode(invoice.payment_hash),
        })
    }
}
