//! The `paycheck` command line: parses flags, runs a command, exits with a documented code.

/// Prints a line to stdout. A closed stdout (`paycheck list | head`) is no error: the
/// rest of the output is not wanted, and reports are written to files all the same, so
/// the write error is dropped instead of panicking as `println!` does.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints text to stdout as it is, like [`out!`] without the newline.
fn out_str(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub mod args;
mod catalogue_cmds;
pub mod console;
pub mod exit;
mod load;
mod mocks;
mod run;
mod serve_reference;
mod wiring;

use args::{Cli, Command, RunArgs};
use clap::Parser;
pub use exit::Exit;

/// Runs the command line and returns its exit code.
pub fn main() -> Exit {
    let cli = Cli::parse();
    // The embedded servers are provoked on purpose by the checks; their warnings are noise
    // there, and news when they serve on their own.
    let serving = matches!(
        cli.command,
        Some(Command::ServeReference(_) | Command::Mocks(_))
    );
    init_logging(if serving {
        "warn"
    } else {
        "warn,paycheck::reference=error"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Internal;
        }
    };
    runtime.block_on(async {
        match cli
            .command
            .unwrap_or_else(|| Command::Run(Box::new(RunArgs::default_run())))
        {
            Command::Run(args) => run::run(*args).await,
            Command::Props(args) => run::props(*args).await,
            Command::Snapshot(args) => run::snapshot(*args).await,
            Command::Load(args) => load::load(*args).await,
            Command::Merge(args) => load::merge(args),
            Command::List(args) => catalogue_cmds::list(args),
            Command::Explain(args) => catalogue_cmds::explain(args),
            Command::Mocks(args) => mocks::mocks(args).await,
            Command::ServeReference(args) => serve_reference::serve_reference(args).await,
        }
    })
}

/// Logs go to stderr; `RUST_LOG` sets the level (default: `default`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Listens for Ctrl-C and SIGTERM from now on (so that a signal during start-up is not
/// lost) and returns a signal that turns true at the first one.
pub(crate) fn listen_for_stop() -> crate::serve::StopSignal {
    let (tx, rx) = crate::serve::stop_channel();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    rx
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
