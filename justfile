# Recipes for paycheck. Get just with `pip install rust-just==1.59.0` (or `cargo install just`);
# every recipe is a plain cargo command, so just is optional.

# The main job: the whole conformance catalogue against the embedded servers.
demo:
    cargo run --release

# The tests (the README's test command).
test:
    cargo test --workspace

# Conformance against the embedded servers, one suite.
conformance suite="x402-v2":
    cargo run --release -- run --suite {{suite}}

# A load profile against the embedded stack (exit 1 when a threshold is missed).
load profile="scenarios/load/smoke.toml":
    cargo run --release -- load {{profile}}

# Record or check the snapshots of the embedded servers.
snapshots action="check":
    cargo run --release -- snapshot {{action}}

# paycheck against the reference SDKs: x402 from npm and PyPI, L402 (l402-kit) from PyPI.
interop:
    cargo build --release
    bash interop/run.sh target/release/paycheck
    bash interop/x402-fastapi/run.sh target/release/paycheck
    bash interop/l402kit/run.sh target/release/paycheck

# Criterion benchmarks of signing, verification, codecs and schemas, pinned to one core.
bench:
    taskset -c 0 cargo bench --bench crypto

# What CI runs.
ci:
    bash .ci/run
