//! The `resettle-on-restart` fault's outbox: settlements begun and not yet answered, kept
//! in a file so that they survive a crash, and sent to `/settle` again when the server
//! starts. A naive recovery: a settlement that landed while the server was down is sent a
//! second time, which a facilitator or chain without nonce checks charges twice.

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;

/// Settlements begun and not answered, in a file.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Outbox {
    /// The outbox of the server that pays through `facilitator_url` in `dialect`: the same
    /// file across restarts, another for each mock facilitator.
    pub fn new(facilitator_url: &str, dialect: &str) -> Self {
        let name: String = format!("{facilitator_url}-{dialect}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Self {
            path: std::env::temp_dir().join(format!("paycheck-outbox-{name}.json")),
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> Vec<Value> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn write(&self, pending: &[Value]) {
        let json = serde_json::to_vec(pending).expect("JSON serialises");
        if let Err(e) = std::fs::write(&self.path, json) {
            tracing::warn!(error = %e, path = %self.path.display(), "cannot write the outbox");
        }
    }

    /// Notes a settlement request before it is sent.
    pub fn add(&self, body: &Value) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending = self.read();
        pending.push(body.clone());
        self.write(&pending);
    }

    /// Forgets a settlement request once answered.
    pub fn remove(&self, body: &Value) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending = self.read();
        if let Some(i) = pending.iter().position(|p| p == body) {
            pending.remove(i);
        }
        self.write(&pending);
    }

    /// Every settlement request left unanswered by an earlier life, now forgotten.
    pub fn take_all(&self) -> Vec<Value> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let pending = self.read();
        let _ = std::fs::remove_file(&self.path);
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_is_added_and_not_removed_survives_for_the_next_life() {
        let outbox = Outbox::new(&format!("test-{}", std::process::id()), "x402-v2");
        outbox.add(&json!({"a": 1}));
        outbox.add(&json!({"b": 2}));
        outbox.remove(&json!({"a": 1}));
        let next = Outbox::new(&format!("test-{}", std::process::id()), "x402-v2");
        assert_eq!(next.take_all(), vec![json!({"b": 2})]);
        assert!(next.take_all().is_empty());
    }
}
