//! `paycheck run --spawn` against the reference server's correct and faulty builds: the
//! run itself, and each faulty build run in parallel with only the checks meant to catch
//! it.

use std::fmt::Display;
use std::process::{Command, Output};

/// The paycheck binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_paycheck")
}

/// `paycheck run --suite SUITE --spawn SERVER --timeout 3s --strict` with `args` (routes,
/// `--only`, …); its reports go to a scratch directory named by `tag`, removed after.
pub fn run_spawned(suite: &str, server: &str, tag: &str, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!(
        "paycheck-spawn-{suite}-{tag}-{}",
        std::process::id()
    ));
    let out = Command::new(bin())
        .args(["run", "--suite", suite, "--spawn", server])
        .args([
            "--timeout",
            "3s",
            "--hang-window",
            "4s",
            "--strict",
            "--report-dir",
        ])
        .arg(&dir)
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// `--only SUITE/ID` for each id.
pub fn only(suite: &str, ids: &[&str]) -> Vec<String> {
    ids.iter()
        .flat_map(|id| ["--only".to_string(), format!("{suite}/{id}")])
        .collect()
}

/// Runs `one` for every item, six items to a thread; the results in the items' order.
pub fn in_parallel<T: Copy + Send + Sync, R: Send>(
    items: &[T],
    one: impl Fn(T) -> R + Sync,
) -> Vec<(T, R)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(6)
            .map(|chunk| {
                let one = &one;
                s.spawn(move || chunk.iter().map(|t| (*t, one(*t))).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// The run of a faulty build exited 1 and named `check` (its id's last part) as failed.
pub fn assert_caught(fault: impl Display, check: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{fault}: {stdout}");
    let name = check.rsplit('/').next().unwrap();
    assert!(
        stdout.contains(&format!("✘ {name}:")),
        "{fault} not named: {stdout}"
    );
}
