//! The `paycheck` binary; see `paycheck --help`.

/// mimalloc: the load paths allocate per request (JSON, headers), and glibc's malloc was
/// about a fifth of the CPU of the paid path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    paycheck::cli::main().into()
}
