//! Atomic-unit amounts: base-10 integer strings that must fit in a uint256.

use alloy::primitives::U256;

/// Why a string is not an atomic-unit amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Empty, signed, decimal, exponent, spaces or other non-digits.
    #[error("'{0}' is not a base-10 integer string of atomic units")]
    NotDigits(String),
    /// Digits with a leading zero, such as `007`.
    #[error("'{0}' has a leading zero")]
    LeadingZero(String),
    /// More than 2^256 - 1.
    #[error("'{0}' does not fit in a uint256")]
    TooLarge(String),
}

/// Parses an atomic-unit amount string strictly: digits only, no leading zero, fits uint256.
pub fn parse_atomic(text: &str) -> Result<U256, AmountError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotDigits(text.to_string()));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(AmountError::LeadingZero(text.to_string()));
    }
    U256::from_str_radix(text, 10).map_err(|_| AmountError::TooLarge(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_atomic_amounts_up_to_uint256_max() {
        assert_eq!(parse_atomic("0").unwrap(), U256::ZERO);
        assert_eq!(parse_atomic("10000").unwrap(), U256::from(10000));
        let max = U256::MAX.to_string();
        assert_eq!(parse_atomic(&max).unwrap(), U256::MAX);
    }

    #[test]
    fn refuses_everything_else() {
        let beyond =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(matches!(
            parse_atomic(beyond),
            Err(AmountError::TooLarge(_))
        ));
        for bad in ["", "-1", "1.5", "1e6", " 1", "0x10", "+1"] {
            assert!(
                matches!(parse_atomic(bad), Err(AmountError::NotDigits(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_atomic("007"),
            Err(AmountError::LeadingZero(_))
        ));
    }
}
