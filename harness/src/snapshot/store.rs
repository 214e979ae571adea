//! Snapshot files in insta's format (a `---` metadata block, then the content), so that
//! `cargo insta review` can accept or reject the `.snap.new` files `check` leaves. The
//! format is written here by hand: insta's API for writing snapshot files is internal.

use std::path::{Path, PathBuf};

/// The path of a snapshot: `DIR/NAME.snap`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

/// Renders a snapshot file.
pub fn render(name: &str, content: &str) -> String {
    format!("---\nsource: paycheck snapshot\nexpression: {name}\n---\n{content}\n")
}

/// The content of a snapshot file (after its metadata block), if the file exists.
pub fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let body = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map_or(text.as_str(), |(_, b)| b);
    Some(body.trim_end_matches('\n').to_string())
}

/// The names of the snapshots stored in `dir` (for reporting the ones not produced).
pub fn stored(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".snap"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// A unified diff of stored against current content.
pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "now")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_read_round_trip() {
        let dir = std::env::temp_dir().join(format!("paycheck-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = path(&dir, "x402-v2__premium__unpaid");
        std::fs::write(&p, render("x402-v2__premium__unpaid", "{\n  \"a\": 1\n}")).unwrap();
        assert_eq!(read(&p).unwrap(), "{\n  \"a\": 1\n}");
        assert_eq!(stored(&dir), vec!["x402-v2__premium__unpaid"]);
        assert!(diff("a\nb\n", "a\nc\n").contains("-b\n+c"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
