//! Reason codes for refused payments, as listed in x402-specification-v2.md §9 (v1 §9
//! differs only in `invalid_exact_evm_payload_authorization_value`).

/// The payment payload is malformed.
pub const INVALID_PAYLOAD: &str = "invalid_payload";
/// The payment requirements are malformed, or the payment does not match them.
pub const INVALID_PAYMENT_REQUIREMENTS: &str = "invalid_payment_requirements";
/// The protocol version is not the one expected.
pub const INVALID_X402_VERSION: &str = "invalid_x402_version";
/// The scheme is not supported.
pub const UNSUPPORTED_SCHEME: &str = "unsupported_scheme";
/// The payment's scheme differs from the requirement's.
pub const INVALID_SCHEME: &str = "invalid_scheme";
/// The network is not supported or differs from the requirement's.
pub const INVALID_NETWORK: &str = "invalid_network";
/// The signature does not recover to `authorization.from`.
pub const INVALID_SIGNATURE: &str = "invalid_exact_evm_payload_signature";
/// `authorization.to` is not the requirement's `payTo`.
pub const RECIPIENT_MISMATCH: &str = "invalid_exact_evm_payload_recipient_mismatch";
/// `validBefore` has passed (or falls within the 6 s block buffer).
pub const VALID_BEFORE: &str = "invalid_exact_evm_payload_authorization_valid_before";
/// `validAfter` is still in the future.
pub const VALID_AFTER: &str = "invalid_exact_evm_payload_authorization_valid_after";
/// v2: `value` is not exactly the amount.
pub const VALUE_MISMATCH: &str = "invalid_exact_evm_payload_authorization_value_mismatch";
/// v1: `value` is not exactly the amount.
pub const VALUE_V1: &str = "invalid_exact_evm_payload_authorization_value";
/// The authorization cannot execute: its nonce was already used on chain.
pub const INVALID_TRANSACTION_STATE: &str = "invalid_transaction_state";
/// The payer's balance is below the value.
pub const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
/// Settlement failed for a reason the facilitator cannot name.
pub const UNEXPECTED_SETTLE_ERROR: &str = "unexpected_settle_error";
/// Settlement was submitted but is not confirmed (not success: the resource must not be served).
pub const SETTLEMENT_PENDING: &str = "settlement_pending";
