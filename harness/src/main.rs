//! The `paycheck` binary; see `paycheck --help`.

fn main() -> std::process::ExitCode {
    paycheck::cli::main().into()
}
