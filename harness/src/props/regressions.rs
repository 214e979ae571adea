//! Minimal failing cases kept on disk (`DIR/SUITE.jsonl`, one JSON list of edits a line)
//! and replayed before any generated case, as proptest's regression files are.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::Path;

/// The stored cases of a suite (none when there is no directory or file).
pub fn load<E: DeserializeOwned>(dir: Option<&Path>, suite: &str) -> Vec<Vec<E>> {
    let Some(dir) = dir else { return Vec::new() };
    let Ok(text) = std::fs::read_to_string(dir.join(format!("{suite}.jsonl"))) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Appends a case unless it is already stored.
pub fn store<E: Serialize + DeserializeOwned + PartialEq>(
    dir: Option<&Path>,
    suite: &str,
    edits: &[E],
) {
    let Some(dir) = dir else { return };
    if load::<E>(Some(dir), suite).iter().any(|e| e == edits) {
        return;
    }
    let line = serde_json::to_string(edits).unwrap_or_default();
    let _ = std::fs::create_dir_all(dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{suite}.jsonl")))
    {
        let _ = writeln!(f, "{line}");
    }
}
