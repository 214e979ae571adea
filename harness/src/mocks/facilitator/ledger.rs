//! The simulated token: balances per payer and the EIP-3009 nonces already used.

use alloy::primitives::{Address, B256, U256, keccak256};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Balances and used authorizations, changed atomically by [`Ledger::settle`].
#[derive(Debug)]
pub struct Ledger {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    used: HashSet<(Address, B256)>,
    balances: HashMap<Address, U256>,
    default_balance: U256,
}

/// Why a settlement cannot happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerRefusal {
    /// The authorization's nonce was already used (`authorizationState` is true).
    NonceUsed,
    /// The payer's balance is below the value.
    InsufficientFunds,
}

impl Ledger {
    /// A ledger in which every payer starts with `default_balance` atomic units.
    pub fn new(default_balance: U256) -> Self {
        Self {
            state: Mutex::new(State {
                used: HashSet::new(),
                balances: HashMap::new(),
                default_balance,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets one address's balance.
    pub fn set_balance(&self, who: Address, amount: U256) {
        self.lock().balances.insert(who, amount);
    }

    /// One address's balance.
    pub fn balance(&self, who: Address) -> U256 {
        let s = self.lock();
        s.balances.get(&who).copied().unwrap_or(s.default_balance)
    }

    /// Whether `nonce` of `payer` was already used.
    pub fn is_used(&self, payer: Address, nonce: B256) -> bool {
        self.lock().used.contains(&(payer, nonce))
    }

    /// Checks that a transfer could happen now, without changing anything.
    pub fn check(&self, payer: Address, nonce: B256, value: U256) -> Result<(), LedgerRefusal> {
        let s = self.lock();
        check_locked(&s, payer, nonce, value)
    }

    /// Atomically checks and performs a transfer; returns the transaction hash.
    pub fn settle(
        &self,
        payer: Address,
        to: Address,
        nonce: B256,
        value: U256,
    ) -> Result<B256, LedgerRefusal> {
        let mut s = self.lock();
        check_locked(&s, payer, nonce, value)?;
        let default = s.default_balance;
        let from_balance = s.balances.get(&payer).copied().unwrap_or(default);
        s.balances.insert(payer, from_balance - value);
        let to_balance = s.balances.get(&to).copied().unwrap_or(default);
        s.balances.insert(to, to_balance.saturating_add(value));
        s.used.insert((payer, nonce));
        Ok(keccak256([payer.as_slice(), nonce.as_slice()].concat()))
    }

    /// Forgets every balance and used nonce.
    pub fn reset(&self) {
        let mut s = self.lock();
        s.used.clear();
        s.balances.clear();
    }
}

fn check_locked(s: &State, payer: Address, nonce: B256, value: U256) -> Result<(), LedgerRefusal> {
    if s.used.contains(&(payer, nonce)) {
        return Err(LedgerRefusal::NonceUsed);
    }
    let balance = s.balances.get(&payer).copied().unwrap_or(s.default_balance);
    if balance < value {
        return Err(LedgerRefusal::InsufficientFunds);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_settles_once_and_moves_the_value() {
        let ledger = Ledger::new(U256::from(100));
        let (a, b, n) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            B256::repeat_byte(9),
        );
        ledger.settle(a, b, n, U256::from(30)).unwrap();
        assert_eq!(ledger.balance(a), U256::from(70));
        assert_eq!(ledger.balance(b), U256::from(130));
        assert_eq!(
            ledger.settle(a, b, n, U256::from(30)),
            Err(LedgerRefusal::NonceUsed)
        );
        assert_eq!(
            ledger.settle(a, b, B256::repeat_byte(8), U256::from(71)),
            Err(LedgerRefusal::InsufficientFunds)
        );
    }
}
