//! One behaviour of the hostile test server (`tests/common/hostile.rs`) on a free loopback
//! port, until Ctrl-C: for measuring paycheck against it by hand, as `BENCHMARKS.md` does.
//!
//! ```sh
//! cargo run --release --example hostile_server -- body-1gib
//! ```
//!
//! It prints `hostile BEHAVIOUR: http://127.0.0.1:PORT` on stdout once it listens.

#[allow(dead_code)]
#[path = "../tests/common/hostile.rs"]
mod hostile;

use hostile::{Behaviour, HostileServer};
use std::io::Write;

/// The behaviours by the names this command takes.
const NAMES: &[(&str, Behaviour)] = &[
    ("body-1gib", Behaviour::Body1GiB),
    ("endless-chunked", Behaviour::EndlessChunked),
    ("slow-drip", Behaviour::SlowDrip),
    ("hang-after-headers", Behaviour::HangAfterHeaders),
    ("always-402", Behaviour::Always402),
    ("mainnet-only", Behaviour::MainnetOnly),
    ("json-bomb", Behaviour::JsonBomb),
    ("ten-thousand-offers", Behaviour::TenThousandOffers),
];

#[tokio::main]
async fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some((_, behaviour)) = NAMES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "usage: hostile_server BEHAVIOUR, one of: {}",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let server = HostileServer::start(*behaviour).await;
    println!("hostile {name}: {}", server.url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
}
