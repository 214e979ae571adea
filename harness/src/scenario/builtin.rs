//! The scenario files shipped in `scenarios/`, embedded at build time.

/// (name, text) of every built-in scenario file.
pub(super) const FILES: &[(&str, &str)] = &[
    (
        "scenarios/x402/payment-verify-then-settle.toml",
        include_str!("../../../scenarios/x402/payment-verify-then-settle.toml"),
    ),
    (
        "scenarios/x402/replay-sequential.toml",
        include_str!("../../../scenarios/x402/replay-sequential.toml"),
    ),
    (
        "scenarios/x402/hygiene-free-route.toml",
        include_str!("../../../scenarios/x402/hygiene-free-route.toml"),
    ),
    (
        "scenarios/x402/hygiene-cors-preflight.toml",
        include_str!("../../../scenarios/x402/hygiene-cors-preflight.toml"),
    ),
    (
        "scenarios/x402-v1/hygiene-cors-preflight.toml",
        include_str!("../../../scenarios/x402-v1/hygiene-cors-preflight.toml"),
    ),
    (
        "scenarios/l402/replay-reusable.toml",
        include_str!("../../../scenarios/l402/replay-reusable.toml"),
    ),
    (
        "scenarios/l402/replay-sequential.toml",
        include_str!("../../../scenarios/l402/replay-sequential.toml"),
    ),
    (
        "scenarios/l402/hygiene-free-route.toml",
        include_str!("../../../scenarios/l402/hygiene-free-route.toml"),
    ),
    (
        "scenarios/l402/hygiene-cors-expose.toml",
        include_str!("../../../scenarios/l402/hygiene-cors-expose.toml"),
    ),
];
